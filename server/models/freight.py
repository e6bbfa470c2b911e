from tortoise import fields
from tortoise.models import Model


class FreightTemplate(Model):
    """A freight template (运费模板): the county's (merchant null, set by the office) or a merchant's own.
    zones: [{"regions": [region codes or "*"], "mode": free|flat|metered|not_served, "first_units",
    "first_fen", "step_units", "step_fen"}]; the most specific region code of an address picks its zone.
    basis: weight (units are grams) or piece (units are pieces)."""
    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="freight_templates",
                                      on_delete=fields.CASCADE)
    name = fields.CharField(64, default="")
    basis = fields.CharField(8, default="piece")  # weight | piece
    zones = fields.JSONField(default=list)
    cold_chain_fen = fields.IntField(default=0)  # added once per shipment with a cold-chain line
    free_above_fen = fields.BigIntField(null=True)  # goods of one merchant at or above it ship free
    # Who the freight is income of (and who carries the cost): merchant (default) | platform.
    income_to = fields.CharField(12, default="merchant")
    is_active = fields.BooleanField(default=True)  # a merchant's own template in use (else the county's)
    updated_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "freight_templates"
        unique_together = (("merchant",),)
