from tortoise import fields
from tortoise.models import Model


class Merchant(Model):
    """A seller (商户): a household (农户), cooperative (合作社) or enterprise (企业)."""
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(64)
    kind = fields.CharField(16, db_index=True)  # household | cooperative | enterprise
    status = fields.CharField(16, default="pending", db_index=True)  # pending | active | rejected | suspended
    contact_name = fields.CharField(32, default="")
    contact_phone = fields.CharField(20, default="")
    licence_no = fields.CharField(64, default="")  # business licence or ID number
    town = fields.CharField(32, default="", db_index=True)
    village = fields.CharField(32, default="")
    # Is, or works with, registered poor households (建档立卡贫困户).
    is_poor_household = fields.BooleanField(default=False)
    description = fields.TextField(default="")
    # 代卖: a household merchant operated by a station for villagers without smartphones.
    operated_by_station = fields.ForeignKeyField("models.Station", null=True, related_name="operated_merchants",
                                                 on_delete=fields.SET_NULL)
    applicant = fields.ForeignKeyField("models.User", null=True, related_name="merchant_applications",
                                       on_delete=fields.SET_NULL)
    reviewed_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    reviewed_at = fields.DatetimeField(null=True)
    reject_reason = fields.CharField(500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "merchants"
