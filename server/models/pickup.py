"""Pickups at village stations (自提): the code the buyer shows, who verified it (核销), the returns of
uncollected parcels, and the alerts raised when a station's codes are being guessed."""
from tortoise import fields
from tortoise.models import Model


class PickupStatus:
    READY = "ready"            # 待自提: at the station, code open
    PICKED_UP = "picked_up"    # 已提货 (核销)
    RETURNED = "returned"      # 逾期未取, sent back and refunded
    CANCELLED = "cancelled"    # the order was refunded/closed while waiting


class Pickup(Model):
    """One pickup order received at its station. `open_code` is the code while the pickup is open
    and NULL after, so the unique index makes a code unique among the station's open pickups only."""
    id = fields.BigIntField(primary_key=True)
    order = fields.OneToOneField("models.Order", related_name="pickup", on_delete=fields.RESTRICT)
    station = fields.ForeignKeyField("models.Station", related_name="pickups", on_delete=fields.RESTRICT)
    order_no = fields.CharField(32)
    buyer_id = fields.BigIntField(db_index=True)
    code = fields.CharField(8)
    open_code = fields.CharField(8, null=True)
    status = fields.CharField(16, default=PickupStatus.READY, db_index=True)
    received_at = fields.DatetimeField(db_index=True)
    received_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    deadline_at = fields.DatetimeField(db_index=True)
    reminders_sent = fields.SmallIntField(default=0)
    last_reminded_at = fields.DatetimeField(null=True)
    # When the arrival notice went out (claimed before sending, so a re-delivered job sends none).
    notified_wechat_at = fields.DatetimeField(null=True)
    notified_sms_at = fields.DatetimeField(null=True)
    picked_up_at = fields.DatetimeField(null=True, db_index=True)
    verified_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    verify_method = fields.CharField(8, default="")  # code | qr
    returned_at = fields.DatetimeField(null=True)
    closed_reason = fields.CharField(64, default="")

    class Meta:
        table = "pickups"
        unique_together = (("station", "open_code"),)
        indexes = (("station", "status", "received_at"), ("station", "code"))


class PickupReturn(Model):
    """A return task (退回) for the logistics side: an uncollected parcel goes back to the warehouse.
    The buyer's refund is requested through the orders refund path once (refund_requested_at)."""
    id = fields.BigIntField(primary_key=True)
    pickup = fields.OneToOneField("models.Pickup", related_name="return_task", on_delete=fields.RESTRICT)
    order_id = fields.BigIntField(db_index=True)
    station = fields.ForeignKeyField("models.Station", related_name="return_tasks", on_delete=fields.RESTRICT)
    status = fields.CharField(16, default="pending", db_index=True)  # pending | collected | done
    reason = fields.CharField(64, default="uncollected")
    refund_requested_at = fields.DatetimeField(null=True)
    refund_id = fields.BigIntField(null=True)
    refund_error = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "pickup_returns"


class StationAlert(Model):
    """Something admins must look at, e.g. a station locked after repeated wrong pickup codes."""
    id = fields.BigIntField(primary_key=True)
    station = fields.ForeignKeyField("models.Station", related_name="alerts", on_delete=fields.CASCADE)
    kind = fields.CharField(32, db_index=True)  # pickup_code_guessing
    message = fields.CharField(200)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.ForeignKeyField("models.User", null=True, related_name=False,
                                             on_delete=fields.SET_NULL)

    class Meta:
        table = "station_alerts"
