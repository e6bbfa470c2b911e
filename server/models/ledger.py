from tortoise import fields
from tortoise.models import Model


class RefKind:
    """What a ledger entry belongs to."""
    ORDER_LINE = "order_line"
    PAYOUT_LINE = "payout_line"
    CASH_HANDOVER = "cash_handover"
    SETTLEMENT_ADJUSTMENT = "settlement_adjustment"
    ALL = (ORDER_LINE, PAYOUT_LINE, CASH_HANDOVER, SETTLEMENT_ADJUSTMENT)


class LedgerEntry(Model):
    """Settlement ledger (结算台账): immutable, signed entries. For every order, the entries sum to
    paid_fen - refunded_fen (cash-custody pairs sum to zero). dedup_key makes each posting unique.
    ref_kind/ref_id say what an entry belongs to: an order line (every entry so far: order set), or,
    for the payout work to come, a payout line, a cash hand-over or a settlement adjustment (no order)."""
    id = fields.BigIntField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name="ledger_entries", on_delete=fields.RESTRICT,
                                   null=True)
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
    # order_line | payout_line | cash_handover | settlement_adjustment (see RefKind)
    ref_kind = fields.CharField(24, default="order_line")
    ref_id = fields.BigIntField(null=True)  # the payout line, hand-over or adjustment (order entries: order_line)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "ledger_entries"
        # (account_type, kind, account_id): the stations' cash owed (a few kinds among every station fee
        # ever posted) for the office's cash hand-over page
        indexes = (("account_type", "account_id"), ("account_type", "kind", "account_id"))
