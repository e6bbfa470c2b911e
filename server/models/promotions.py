"""Promotions (营销): coupons (优惠券) a buyer claims and spends at checkout, and festival campaigns
(节庆活动) the county office builds from products and coupons."""
from tortoise import fields
from tortoise.models import Model


class CouponKind:
    FULL_REDUCTION = "full_reduction"  # 满减: spend threshold_fen, save amount_fen
    INSTANT = "instant"                # 立减: save amount_fen (no threshold)
    PERCENT = "percent"                # 折扣: pay rate_bp of the price, saving at most cap_fen
    ALL = (FULL_REDUCTION, INSTANT, PERCENT)


class CouponScope:
    ALL = "all"            # everything in the pavilion (platform coupons only)
    CATEGORY = "category"  # products of these categories
    MERCHANT = "merchant"  # products of these merchants
    PRODUCT = "product"    # these products
    CHOICES = (ALL, CATEGORY, MERCHANT, PRODUCT)


class CouponStatus:
    ACTIVE = "active"    # claimable within its window
    PAUSED = "paused"    # no more claims (claimed ones stay usable)
    ALL = (ACTIVE, PAUSED)


class Coupon(Model):
    """A coupon definition (券模板). Funded by the platform (merchant None) or by one merchant, whose
    coupons only ever cover that merchant's goods. issued_count never passes total_quantity: a claim
    takes one with a guarded update (issued_count < total_quantity), like stock."""
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(64)
    kind = fields.CharField(16)
    funder = fields.CharField(16)  # platform | merchant
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="coupons", on_delete=fields.RESTRICT)
    threshold_fen = fields.BigIntField(default=0)  # the eligible goods must reach this (满减; optional otherwise)
    amount_fen = fields.BigIntField(default=0)     # 满减 / 立减: the saving
    rate_bp = fields.IntField(default=10000)       # 折扣: pay this share (8500 = 85折)
    cap_fen = fields.BigIntField(default=0)        # 折扣: the largest saving
    new_buyer_only = fields.BooleanField(default=False)  # 新人券: for a buyer with no paid order before
    scope = fields.CharField(16, default=CouponScope.ALL)
    scope_ids = fields.JSONField(default=list)     # category, merchant or product ids
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    total_quantity = fields.IntField()
    issued_count = fields.IntField(default=0)
    used_count = fields.IntField(default=0)
    per_person_limit = fields.IntField(default=1)
    # Whether a full refund of the order gives the coupon back (while it is still valid).
    return_on_refund = fields.BooleanField(default=True)
    status = fields.CharField(16, default=CouponStatus.ACTIVE)
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coupons"


class UserCouponStatus:
    AVAILABLE = "available"
    USED = "used"          # spent on an order (unpaid or paid); cancel / full refund may release it
    ALL = (AVAILABLE, USED)


class UserCoupon(Model):
    """A coupon a buyer claimed (领券). Spent once: AVAILABLE -> USED is a guarded update."""
    id = fields.BigIntField(primary_key=True)
    coupon = fields.ForeignKeyField("models.Coupon", related_name="claims", on_delete=fields.RESTRICT)
    user = fields.ForeignKeyField("models.User", related_name="coupons", on_delete=fields.RESTRICT, db_index=True)
    status = fields.CharField(16, default=UserCouponStatus.AVAILABLE)
    order_id = fields.BigIntField(null=True, db_index=True)
    discount_fen = fields.BigIntField(default=0)
    claimed_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)
    released_at = fields.DatetimeField(null=True)
    release_reason = fields.CharField(32, default="")

    class Meta:
        table = "user_coupons"
        indexes = (("coupon_id", "user_id"),)


class Campaign(Model):
    """A festival campaign (节庆活动): products and coupons shown together between starts_at and ends_at.
    Two published campaigns never overlap in time (the service refuses, under a lock)."""
    id = fields.BigIntField(primary_key=True)
    title = fields.CharField(64)
    description = fields.CharField(500, default="")
    banner = fields.CharField(300, default="")
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField(db_index=True)
    product_ids = fields.JSONField(default=list)
    coupon_ids = fields.JSONField(default=list)
    status = fields.CharField(16, default="draft")  # draft | published | withdrawn
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaigns"
