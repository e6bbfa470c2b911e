"""Sharing (分享): a buyer's share of a product (or campaign) with its poster, and which share
brought an order (attribution, one level only: no commission is derived from it)."""
from tortoise import fields
from tortoise.models import Model


class Share(Model):
    """One sharer's share of one target; the poster's mini-program code carries its id in the scene."""
    id = fields.BigIntField(primary_key=True)
    sharer_id = fields.BigIntField(db_index=True)
    kind = fields.CharField(16, default="product")  # product | campaign
    target_id = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    poster_at = fields.DatetimeField(null=True)  # when its poster was first drawn

    class Meta:
        table = "sharing_shares"
        unique_together = (("sharer_id", "kind", "target_id"),)


class ShareAttribution(Model):
    """The share that brought an order (the buyer opened the sharer's poster or link, then paid)."""
    id = fields.BigIntField(primary_key=True)
    order_id = fields.BigIntField(unique=True)
    share_id = fields.BigIntField(db_index=True)
    sharer_id = fields.BigIntField(db_index=True)
    buyer_id = fields.BigIntField()
    kind = fields.CharField(16)
    target_id = fields.BigIntField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "sharing_attributions"
