"""Live selling consent (直播带货授权): a livestreamer selling another merchant's goods needs that
merchant's consent (a proposal the merchant accepted), or the product in the office's live product
pool (选品池) of products whose merchants agreed to standard terms."""
from tortoise import fields
from tortoise.models import Model


class ConsentStatus:
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    ALL = (PROPOSED, ACCEPTED, DECLINED, WITHDRAWN)


class LiveConsent(Model):
    """A livestreamer's proposal to sell a merchant's SKU on air: the lowest live price, the highest
    commission and the most units the merchant agrees to, between two dates (Asia/Shanghai days)."""
    id = fields.BigIntField(primary_key=True)
    livestreamer_id = fields.BigIntField(db_index=True)  # the user
    merchant_id = fields.BigIntField(db_index=True)
    product_id = fields.BigIntField()
    sku_id = fields.BigIntField()
    live_price = fields.IntField()     # fen: the tie-in's live price may not be below it
    commission_bp = fields.IntField()  # the tie-in's commission may not be above it
    quota = fields.IntField()          # units a tie-in may set aside
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    status = fields.CharField(16, default=ConsentStatus.PROPOSED, db_index=True)
    note = fields.CharField(200, default="")
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "live_consents"


class LivePoolProduct(Model):
    """A product in the office's live product pool (选品池): its merchant agreed to standard terms, so
    any livestreamer may tie it in within them (live price at least min_price_bp of the list price,
    commission at most max_commission_bp)."""
    id = fields.BigIntField(primary_key=True)
    product_id = fields.BigIntField(unique=True)
    merchant_id = fields.BigIntField(db_index=True)
    min_price_bp = fields.IntField()       # of the SKU's list price (8000 = at least 80%)
    max_commission_bp = fields.IntField()
    agreement = fields.CharField(200)      # how the merchant agreed (signed form, date ...)
    is_active = fields.BooleanField(default=True)
    added_by = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "live_pool_products"
