from tortoise import fields
from tortoise.models import Model


class PresaleOfferStatus:
    """A pre-sale offer's states: the merchant proposes it, the office approves (or rejects) it."""
    PENDING = "pending"      # 待审核
    APPROVED = "approved"    # 已通过 (on sale within its window)
    REJECTED = "rejected"    # 已驳回
    ENDED = "ended"          # 已结束 (the merchant or the office stopped it)

    ALL = (PENDING, APPROVED, REJECTED, ENDED)


class PresaleOffer(Model):
    """A pre-sale (预售) of one SKU of the harvest: sold between starts_at and ends_at at price_fen; paid
    in full now (mode full) or a deposit now and the balance within the balance window (mode deposit);
    shipped from ship_from. Money in fen, per unit."""
    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", related_name="presale_offers", on_delete=fields.RESTRICT)
    product = fields.ForeignKeyField("models.Product", related_name="presale_offers", on_delete=fields.RESTRICT)
    sku = fields.ForeignKeyField("models.Sku", related_name="presale_offers", on_delete=fields.RESTRICT,
                                 db_index=True)
    mode = fields.CharField(8)  # full | deposit
    price_fen = fields.IntField()
    deposit_fen = fields.IntField(default=0)  # per unit; 0 for mode full
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    balance_starts_at = fields.DatetimeField(null=True)
    balance_ends_at = fields.DatetimeField(null=True)
    ship_from = fields.DatetimeField()
    status = fields.CharField(12, default=PresaleOfferStatus.PENDING, db_index=True)
    note = fields.CharField(200, default="")
    review_note = fields.CharField(200, default="")
    created_by = fields.BigIntField(null=True)
    reviewed_by = fields.BigIntField(null=True)
    reviewed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "presale_offers"


class PresaleOrder(Model):
    """What a pre-sale order owes and when (one per order; the order's source is "presale")."""
    id = fields.BigIntField(primary_key=True)
    order = fields.OneToOneField("models.Order", related_name="presale", on_delete=fields.CASCADE)
    offer = fields.ForeignKeyField("models.PresaleOffer", related_name="orders", on_delete=fields.RESTRICT)
    mode = fields.CharField(8)  # full | deposit
    deposit_fen = fields.BigIntField(default=0)  # the whole order's deposit
    balance_fen = fields.BigIntField(default=0)  # total - deposit
    balance_starts_at = fields.DatetimeField(null=True)
    balance_ends_at = fields.DatetimeField(null=True, db_index=True)
    ship_from = fields.DatetimeField()
    # deposit_kept | deposit_refunded: how an unpaid balance (or a deposit refund) ended it
    outcome = fields.CharField(20, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "presale_orders"
