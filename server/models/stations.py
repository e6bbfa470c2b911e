from tortoise import fields
from tortoise.models import Model


class Station(Model):
    """A service station (服务站): the county centre (县级中心), a town centre (乡镇服务中心) or a
    village station (村级服务站). Village stations belong to a town centre."""
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(32, unique=True)
    name = fields.CharField(64)
    level = fields.CharField(16, db_index=True)  # county | town | village
    parent = fields.ForeignKeyField("models.Station", null=True, related_name="children",
                                    on_delete=fields.RESTRICT)
    town = fields.CharField(32, default="", db_index=True)    # 乡镇
    village = fields.CharField(32, default="")                # 行政村
    address = fields.CharField(200, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    opening_hours = fields.CharField(64, default="")
    contact_name = fields.CharField(32, default="")
    contact_phone = fields.CharField(20, default="")
    services = fields.JSONField(default=list)  # pickup, parcel, assisted_purchase, assisted_sale, bills ...
    status = fields.CharField(16, default="active")  # active | suspended
    is_poor_village = fields.BooleanField(default=False)  # 建档立卡贫困村
    # Set when too many wrong pickup codes were typed here (anti-guessing); cleared by an admin or
    # when it passes. Redis holds the live counter; this row is what admins see.
    pickup_locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stations"


class StationVillager(Model):
    """A villager served at a station counter (代购): a light account found or created by phone and
    bound to the station by an SMS code or by the staff confirming them at the counter."""
    id = fields.BigIntField(primary_key=True)
    station = fields.ForeignKeyField("models.Station", related_name="villagers", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="station_links", on_delete=fields.CASCADE)
    name = fields.CharField(32, default="")
    bound_via = fields.CharField(8, default="")  # "" (not yet) | sms | counter
    bound_at = fields.DatetimeField(null=True)
    bound_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_villagers"
        unique_together = (("station", "user"),)
