from tortoise import fields
from tortoise.models import Model


class LedgerEntry(Model):
    """Settlement ledger (结算台账): immutable, signed entries. For every order, the entries sum to
    paid_fen - refunded_fen (cash-custody pairs sum to zero). dedup_key makes each posting unique."""
    id = fields.BigIntField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name="ledger_entries", on_delete=fields.RESTRICT)
    order_line = fields.ForeignKeyField("models.OrderLine", db_index=True, null=True, related_name="ledger_entries",
                                        on_delete=fields.RESTRICT)
    refund = fields.ForeignKeyField("models.Refund", null=True, related_name="ledger_entries",
                                    on_delete=fields.RESTRICT)
    # merchant | platform | station | livestreamer
    account_type = fields.CharField(16)
    account_id = fields.BigIntField(null=True)
    # merchant_share | platform_fee | station_fee | live_commission | cash_custody (+ _reversal)
    kind = fields.CharField(32)
    amount_fen = fields.BigIntField()
    dedup_key = fields.CharField(96, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "ledger_entries"
        indexes = (("account_type", "account_id"),)
