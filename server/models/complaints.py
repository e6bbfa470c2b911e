"""Complaints and reports (投诉举报): what a buyer, a villager (through station staff) or anyone from a
trace page reported, about whom, and how the county office triaged it (assign, acknowledge, resolve
with an outcome), with the deadlines and breaches, and the answer of the side complained about."""
from tortoise import fields
from tortoise.models import Model


class Complaint(Model):
    id = fields.BigIntField(primary_key=True)
    no = fields.CharField(20, unique=True)  # shown to the reporter: TS + date + random
    kind = fields.CharField(20, db_index=True)  # complaints.service.KINDS
    channel = fields.CharField(8)  # buyer | station | public
    status = fields.CharField(12, default="open", db_index=True)  # open | acknowledged | resolved
    text = fields.TextField()
    photos = fields.JSONField(default=list)  # media keys (complaint/...), private
    # the reporter: never shown to the side complained about
    reporter = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    reporter_name = fields.CharField(32, default="")
    reporter_phone = fields.CharField(20, default="")
    ip_prefix = fields.CharField(48, default="")
    filed_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    filed_at_station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                              on_delete=fields.SET_NULL)  # filed on a villager's behalf
    # what it is about
    order = fields.ForeignKeyField("models.Order", null=True, related_name=False, on_delete=fields.SET_NULL)
    trace_code = fields.CharField(16, default="")
    batch_id = fields.BigIntField(null=True)
    product_id = fields.BigIntField(null=True, db_index=True)
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name=False, on_delete=fields.SET_NULL)
    station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                     on_delete=fields.SET_NULL)  # the station complained about
    live_session_id = fields.BigIntField(null=True)
    town = fields.CharField(32, default="", db_index=True)  # for the figures (乡镇)
    flag_id = fields.BigIntField(null=True)  # the trace code's counterfeit flag (疑似假冒) it joined
    # triage by the office
    assignee = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    ack_due_at = fields.DatetimeField(db_index=True)
    resolve_due_at = fields.DatetimeField(db_index=True)
    acknowledged_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    ack_breached = fields.BooleanField(default=False)
    resolve_breached = fields.BooleanField(default=False)
    outcome = fields.CharField(16, default="")  # complaints.service.OUTCOMES
    outcome_note = fields.CharField(500, default="")
    action_ref = fields.CharField(64, default="")  # what the outcome did (a refund's id, ...)
    resolved_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    # the answer of the merchant or station complained about
    answer = fields.CharField(1000, default="")
    answered_at = fields.DatetimeField(null=True)
    answered_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    # telling the reporter the outcome: "" (not yet) | pending | sent | refused | none | failed
    notify_state = fields.CharField(8, default="")
    notify_channel = fields.CharField(8, default="")  # wechat | sms
    notify_attempts = fields.IntField(default=0)
    notified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "complaints"
        indexes = (("status", "ack_due_at"), ("status", "resolve_due_at"))
