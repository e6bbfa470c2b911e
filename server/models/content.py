from tortoise import fields
from tortoise.models import Model


class ContentItem(Model):
    """What the county office writes for the pavilion (内容): a banner (轮播图), an announcement (公告)
    or an article (文章: policy publicity 政策宣传, brand story 品牌故事, training news 培训动态).
    Shown while enabled and within [publish_at, unpublish_at) (either open). body_html is stored
    sanitised (server/content/sanitize.py): nothing else is ever written to it."""
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(16, db_index=True)        # banner | announcement | article
    category = fields.CharField(16, default="")       # articles: policy | brand_story | training_news
    title = fields.CharField(64)
    summary = fields.CharField(200, default="")
    body_html = fields.TextField(default="")
    image = fields.CharField(300, default="")
    link = fields.CharField(300, default="")          # a banner's target (a mini-program path)
    sort = fields.IntField(default=0)
    enabled = fields.BooleanField(default=False)
    publish_at = fields.DatetimeField(null=True)
    unpublish_at = fields.DatetimeField(null=True)
    created_by = fields.BigIntField(null=True)
    updated_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "content_items"
        indexes = (("kind", "enabled", "id"),)
