from tortoise import fields
from tortoise.models import Model


class FeeTerm(Model):
    """Fee terms (费率): the platform fee of a merchant or the service fee of a station, in basis
    points, in force from effective_from until the next term of the same party. Never edited or
    back-dated: a change is a new term from now or later (order lines keep the terms they were paid under)."""
    id = fields.BigIntField(primary_key=True)
    party_type = fields.CharField(16)  # merchant (platform fee) | station (station service fee)
    party_id = fields.BigIntField()
    fee_bp = fields.IntField()
    effective_from = fields.DatetimeField()
    note = fields.CharField(200, default="")
    created_by = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "fee_terms"
        unique_together = (("party_type", "party_id", "effective_from"),)


class Statement(Model):
    """A settlement statement (结算单): what one payee (merchant, station, livestreamer) is owed for
    one period, made once by the settlement run (unique per payee and period)."""
    id = fields.BigIntField(primary_key=True)
    account_type = fields.CharField(16)  # merchant | station | livestreamer (as ledger accounts)
    account_id = fields.BigIntField()
    period_start = fields.DatetimeField()
    period_end = fields.DatetimeField(db_index=True)
    total_fen = fields.BigIntField(default=0)
    sales_fen = fields.BigIntField(default=0)      # the lines' sale shares
    reversals_fen = fields.BigIntField(default=0)  # refund reversals (negative)
    line_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "settlement_statements"
        unique_together = (("account_type", "account_id", "period_start"),)


class StatementLine(Model):
    """One order line on a statement: the payee's entries of that line settled with it."""
    id = fields.BigIntField(primary_key=True)
    statement = fields.ForeignKeyField("models.Statement", related_name="lines", on_delete=fields.RESTRICT,
                                       db_index=True)
    order_id = fields.BigIntField()
    order_line_id = fields.BigIntField()
    order_no = fields.CharField(32)
    product_name = fields.CharField(64)
    completed_at = fields.DatetimeField(null=True)
    sales_fen = fields.BigIntField(default=0)
    reversals_fen = fields.BigIntField(default=0)
    amount_fen = fields.BigIntField()
    entry_ids = fields.JSONField(default=list)  # the ledger entries settled on this line

    class Meta:
        table = "settlement_statement_lines"
        unique_together = (("statement", "order_line_id"),)


class SettledEntry(Model):
    """A ledger entry that is on a statement: the unique key that settles every entry exactly once,
    whatever runs race."""
    ledger_entry = fields.OneToOneField("models.LedgerEntry", primary_key=True, related_name="settled",
                                        on_delete=fields.RESTRICT)
    statement = fields.ForeignKeyField("models.Statement", related_name="entries", on_delete=fields.RESTRICT,
                                       db_index=True)

    class Meta:
        table = "settlement_entries"
