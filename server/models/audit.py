from tortoise import fields
from tortoise.models import Model


class AuditLog(Model):
    """Who did what to which object (审计日志). Append-only."""
    id = fields.BigIntField(primary_key=True)
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    action = fields.CharField(64, db_index=True)
    object_type = fields.CharField(32)
    object_id = fields.CharField(64)
    data = fields.JSONField(default=dict)
    request_id = fields.CharField(64, default="")
    # Where the action came from (the client address and browser of the request; "" from a job or the CLI).
    ip = fields.CharField(45, default="")
    user_agent = fields.CharField(256, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_log"
        indexes = (("object_type", "object_id"), ("actor_id", "id"))
