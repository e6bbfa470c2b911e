from tortoise import fields
from tortoise.models import Model


class ReviewStatus:
    """A buyer's review (评价) of an order line: shown, held by the sensitive-word screen until the
    office decides, or hidden by the office (with a reason, audited). Only shown reviews count in
    the ratings."""
    VISIBLE = "visible"   # 已展示
    HELD = "held"         # 待审核 (the screen found a listed word)
    HIDDEN = "hidden"     # 已屏蔽 (the office hid it)
    ALL = (VISIBLE, HELD, HIDDEN)


class LineReview(Model):
    """One review per order line, written by the line's buyer after the order completed; appendable
    once (追评); the merchant replies once (商家回复). Named apart from ProductReview (商品审核)."""
    id = fields.BigIntField(primary_key=True)
    line = fields.OneToOneField("models.OrderLine", related_name="line_review", on_delete=fields.CASCADE)
    order_id = fields.BigIntField(db_index=True)
    buyer_id = fields.BigIntField(db_index=True)
    merchant_id = fields.BigIntField()
    product_id = fields.BigIntField()
    station_id = fields.BigIntField(null=True)  # the order's station (pickup or delivery through it)
    product_stars = fields.SmallIntField()
    delivery_stars = fields.SmallIntField()
    station_stars = fields.SmallIntField(null=True)  # only when the order went through a station
    text = fields.CharField(500, default="")
    photos = fields.JSONField(default=list)
    append_text = fields.CharField(500, default="")
    append_photos = fields.JSONField(default=list)
    appended_at = fields.DatetimeField(null=True)
    reply = fields.CharField(500, default="")
    replied_at = fields.DatetimeField(null=True)
    replied_by = fields.BigIntField(null=True)
    status = fields.CharField(8, default=ReviewStatus.VISIBLE)
    flagged_words = fields.JSONField(default=list)  # what the screen found (held reviews)
    hidden_reason = fields.CharField(200, default="")
    moderated_by = fields.BigIntField(null=True)
    moderated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "line_reviews"
        indexes = (("product_id", "status", "id"), ("merchant_id", "id"), ("status", "id"),
                   ("station_id", "id"))


class RatingSummary(Model):
    """Running totals of the shown reviews of one product, merchant or station (评分汇总): kept by
    guarded increments in the review's own transaction, so no page sums reviews per request."""
    id = fields.BigIntField(primary_key=True)
    subject = fields.CharField(8)   # product | merchant | station
    subject_id = fields.BigIntField()
    count = fields.IntField(default=0)
    product_stars = fields.BigIntField(default=0)
    delivery_stars = fields.BigIntField(default=0)
    station_count = fields.IntField(default=0)   # reviews that rated a station
    station_stars = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "rating_summaries"
        unique_together = (("subject", "subject_id"),)
