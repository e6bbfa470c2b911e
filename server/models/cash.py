"""Station cash hand-over (现金解缴): a village station hands the cash it took for 代购 orders to the
county centre; the office confirms what it received. The ledger moves only on confirmation."""
from tortoise import fields
from tortoise.models import Model


class HandoverStatus:
    PENDING = "pending"        # recorded by the station, not yet counted at the centre
    CONFIRMED = "confirmed"    # counted: the ledger moved by received_fen
    REJECTED = "rejected"      # nothing arrived (or recorded in error): the ledger never moved
    ALL = (PENDING, CONFIRMED, REJECTED)


class CashHandover(Model):
    """One hand-over of cash from a station to the county centre. declared_fen is what the station
    says it handed over; received_fen what the centre counted; a difference is flagged."""
    id = fields.BigIntField(primary_key=True)
    station_id = fields.BigIntField(db_index=True)
    declared_fen = fields.BigIntField()
    received_fen = fields.BigIntField(null=True)
    difference_fen = fields.BigIntField(default=0)  # received - declared (set on confirmation)
    flagged = fields.BooleanField(default=False, db_index=True)  # a difference was found
    status = fields.CharField(16, default=HandoverStatus.PENDING, db_index=True)
    note = fields.CharField(200, default="")
    handed_by = fields.BigIntField()
    handed_at = fields.DatetimeField(auto_now_add=True)
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(200, default="")

    class Meta:
        table = "cash_handovers"
