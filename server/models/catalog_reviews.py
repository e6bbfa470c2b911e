from tortoise import fields
from tortoise.models import Model


class ProductReview(Model):
    """One submission of a product for review (商品审核): a first listing or a change to an on-sale
    product. The snapshot is what the reviewer approves; a revision's snapshot is applied on approval
    while the last approved version stays on sale."""
    id = fields.BigIntField(primary_key=True)
    product = fields.ForeignKeyField("models.Product", related_name="reviews", on_delete=fields.CASCADE)
    merchant = fields.ForeignKeyField("models.Merchant", related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharField(16)  # listing | revision
    status = fields.CharField(16, default="pending")  # pending | approved | rejected | superseded
    snapshot = fields.JSONField(default=dict)
    submitted_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    reviewed_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    reason = fields.CharField(500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    reviewed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "product_reviews"
        indexes = (("status", "id"), ("product_id", "id"))
