from tortoise import fields
from tortoise.models import Model


class Address(Model):
    """A buyer's saved delivery address (收货地址): China's province/city/county/town codes from the
    vendored region dataset (server/addresses/regions.json), with a village and a detail line."""
    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="addresses", on_delete=fields.CASCADE)
    name = fields.CharField(32)
    phone = fields.CharField(20)
    province_code = fields.CharField(12)
    city_code = fields.CharField(12)
    county_code = fields.CharField(12)
    town_code = fields.CharField(12, default="")
    village = fields.CharField(32, default="")
    detail = fields.CharField(200)
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "addresses"
        indexes = (("user_id", "is_default"),)
