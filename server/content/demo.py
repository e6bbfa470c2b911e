"""Demo content (seed-demo): an announcement and one article per column, from the county's plan.
Idempotent: an item is found by its title before it is written."""
from __future__ import annotations

from server.content import service
from server.content.schemas import ContentIn
from server.models.content import ContentItem

ITEMS = [
    ContentIn(kind="announcement", title="喀左特色馆上线：村级服务站可自提", enabled=True, sort=10,
              summary="下单时选择离家最近的服务站，到站凭提货码取货。",
              body_html="<p>喀左特色馆已上线。全县 22 个乡镇服务中心、139 个村级服务站提供自提、代购代卖服务，"
                        "县城当日达乡镇，乡镇 24 小时内到村。</p>"),
    ContentIn(kind="article", category="policy", title="电子商务进农村综合示范：我县怎么做", enabled=True,
              summary="建设县、乡、村三级公共服务体系，打通农产品进城、消费品下乡。",
              body_html="<h2>总体思路</h2><p>以农村流通现代化为目标，以示范县建设为抓手，让农村电商成为"
                        "经济社会发展的新引擎、乡村振兴的新产业、脱贫攻坚的新载体。</p>"
                        "<ul><li>1 个县级电子商务公共服务中心</li><li>22 个乡镇服务中心</li>"
                        "<li>139 个村级服务站</li></ul>"),
    ContentIn(kind="article", category="brand_story", title="一个品牌，三个品类：喀左紫砂、陈醋、杂粮", enabled=True,
              summary="区域公共品牌背后的手艺人和合作社。",
              body_html="<p>喀左的紫砂、陈醋与杂粮，是这片土地的名片。区域公共品牌统一标准、统一包装，"
                        "让<strong>三品一标</strong>认证的好产品走出大山。</p>"),
    ContentIn(kind="article", category="training_news", title="电商培训进村：今年培训 6130 人次", enabled=True,
              summary="基础普及、运营提高、直播带货、讲师培训，每个贫困村至少一名电商能手。",
              body_html="<p>全年计划培训 6130 人次，其中基础普及 3500 人次（建档立卡贫困户 1000 人次）、"
                        "中级 1500 人次、高级 500 人次、直播人才 200 人次。</p>"),
]


async def seed_content() -> dict:
    """Write the demo items that are missing."""
    made = 0
    for item in ITEMS:
        if not await ContentItem.filter(title=item.title).exists():
            await service.create(None, item)
            made += 1
    return {"content items": made}
