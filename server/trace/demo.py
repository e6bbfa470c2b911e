"""Demo traceability data (seed-demo): one batch of 喀左陈醋 with its process, an inspection and a few
item codes. The demo batch's code is fixed (KZDEM0000001) so the walk-through can open /t/KZDEM0000001;
real codes are always random."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from server.kit import clock
from server.kit.db import atomic
from server.models.catalog import Product
from server.models.merchants import Merchant
from server.models.trace import Batch, BatchInspection, BatchStep, TraceCode

DEMO_CODE = "KZDEM0000001"
BATCH_NO = "CC2026-09-A"
STEPS = [(-200, "酿造车间", "高粱、麸皮入缸，固态发酵"), (-170, "酿造车间", "翻醅 21 天，淋醋"),
         (-60, "陈酿库", "陈酿 120 天"), (-20, "灌装线", "过滤、灭菌、灌装 500ml")]


async def seed_trace() -> dict:
    """Create the demo batch if it is missing (idempotent)."""
    if await TraceCode.filter(code=DEMO_CODE).exists():
        return {"trace batches": 0}
    p = await Product.filter(brand="kazuo_vinegar").order_by("id").first() or await Product.all().order_by("id").first()
    if p is None:
        return {"trace batches": 0}
    m = await Merchant.get(id=p.merchant_id)
    now = clock.now()
    async with atomic() as conn:
        b = await Batch.create(merchant_id=m.id, product_id=p.id, code=BATCH_NO, producer_kind="merchant",
                               producer_name=m.name, origin_town=p.origin_town or m.town,
                               origin_village=p.origin_village or m.village, origin_plot="东厂区 3 号发酵车间",
                               produced_on=(now - timedelta(days=20)).date(), quantity=2000,
                               responsible_name=m.contact_name or "质量负责人", trace_code=DEMO_CODE,
                               item_serials=10, using_db=conn)
        await TraceCode.create(code=DEMO_CODE, batch_id=b.id, kind="batch", serial=0, using_db=conn)
        for i in range(1, 11):
            await TraceCode.create(code=f"KZDEM{i + 1:07d}", batch_id=b.id, kind="item", serial=i, using_db=conn)
        for days, actor, text in STEPS:
            at = datetime.combine(date.today(), datetime.min.time(), tzinfo=clock.UTC) + timedelta(days=days)
            await BatchStep.create(batch_id=b.id, at=at, actor=actor, description=text, using_db=conn)
        await BatchInspection.create(batch_id=b.id, lab="朝阳市食品检验检测中心", tested_on=(now - timedelta(days=15)).date(),
                                     result="pass", summary="总酸、氨基酸态氮符合 GB 2719", using_db=conn)
    return {"trace batches": 1}
