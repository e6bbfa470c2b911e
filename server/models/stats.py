"""County statistics (县域电商统计): daily rollups by dimension, and the big screen's read-only tokens."""
from tortoise import fields
from tortoise.models import Model


class StatDaily(Model):
    """One figure row of one Asia/Shanghai calendar day for one dimension value (e.g. day, "town",
    "山嘴子镇"). Rewritten whole by the rollup job (upsert on day + dimension + key), so a re-run of any
    day converges to the same rows. Column meaning per dimension: server/stats/rollup.py DIMENSIONS."""
    id = fields.BigIntField(primary_key=True)
    day = fields.DateField()
    dimension = fields.CharField(24)
    key = fields.CharField(64)
    label = fields.CharField(64, default="")
    orders = fields.BigIntField(default=0)
    units = fields.BigIntField(default=0)
    gmv_fen = fields.BigIntField(default=0)
    refund_fen = fields.BigIntField(default=0)
    total = fields.BigIntField(default=0)  # a count whose meaning depends on the dimension
    hits = fields.BigIntField(default=0)   # the part of `total` that succeeded (on time, picked up)
    computed_at = fields.DatetimeField()

    class Meta:
        table = "stats_daily"
        unique_together = (("day", "dimension", "key"),)
        # Range queries read one dimension over a span of days.
        indexes = (("dimension", "day"),)


class ScreenToken(Model):
    """A read-only token for the service centre's big screen (大屏). Only its SHA-256 is stored."""
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(64)
    token_hash = fields.CharField(64, unique=True)
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "stats_screen_tokens"
