"""After-sales (售后, issue #25): a buyer's case about some lines of an order — refund only (仅退款),
return and refund (退货退款) or replacement (换货) — the merchant's answer, the office's final word on
an escalation, the goods' way back, and the refund it becomes (server/orders/refunds.py)."""
from tortoise import fields
from tortoise.models import Model


class CaseKind:
    REFUND_ONLY = "refund_only"        # 仅退款
    RETURN_REFUND = "return_refund"    # 退货退款
    REPLACEMENT = "replacement"        # 换货
    ALL = (REFUND_ONLY, RETURN_REFUND, REPLACEMENT)


class CaseReason:
    DAMAGED = "damaged"                # 破损
    SPOILED = "spoiled"                # 变质/化冻
    SHORT = "short"                    # 少件/缺斤短两
    WRONG_ITEM = "wrong_item"          # 发错货
    NOT_AS_DESCRIBED = "not_as_described"  # 与描述不符
    NOT_RECEIVED = "not_received"      # 未收到货
    CHANGED_MIND = "changed_mind"      # 不想要了 (only where the merchant allows it)
    ALL = (DAMAGED, SPOILED, SHORT, WRONG_ITEM, NOT_AS_DESCRIBED, NOT_RECEIVED, CHANGED_MIND)
    BUYER_FAULT = (CHANGED_MIND,)      # the buyer carries the return cost; freight is not refunded


class CaseStatus:
    """Guarded transitions: every update names the state it comes from."""
    REQUESTED = "requested"            # waits for the merchant (silence approves at respond_by)
    REJECTED = "rejected"              # the merchant refused (with a reason): the buyer may escalate
    ESCALATED = "escalated"            # waits for the office, whose decision is final
    AWAITING_RETURN = "awaiting_return"  # approved: the buyer sends the goods back
    RETURNING = "returning"            # handed to a courier (tracking number) — waits for receipt
    REFUNDING = "refunding"            # the refund is under way (server/orders/refunds)
    DONE = "done"                      # refunded (and the replacement created)
    CLOSED = "closed"                  # refused for good, cancelled by the buyer, or return never sent
    OPEN = (REQUESTED, REJECTED, ESCALATED, AWAITING_RETURN, RETURNING, REFUNDING)


class AfterSale(Model):
    """One after-sales case (售后单) over lines of one merchant in one order."""
    id = fields.BigIntField(primary_key=True)
    case_no = fields.CharField(32, unique=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name=False, on_delete=fields.RESTRICT)
    buyer_id = fields.BigIntField(db_index=True)
    merchant_id = fields.BigIntField(db_index=True)
    kind = fields.CharField(16)
    reason = fields.CharField(20)
    description = fields.CharField(500, default="")
    photos = fields.JSONField(default=list)            # media URLs (server/media), at most 9
    lines = fields.JSONField(default=list)             # [{"line_id", "qty", "amount"}]
    amount_fen = fields.BigIntField()                  # goods refunded
    shipping_refund_fen = fields.BigIntField(default=0)  # freight refunded with it (recorded)
    return_cost_by = fields.CharField(8, default="")   # merchant | buyer | "" (no return)
    status = fields.CharField(16, default=CaseStatus.REQUESTED, db_index=True)
    respond_by = fields.DatetimeField(null=True, db_index=True)  # the merchant's deadline
    auto_approved = fields.BooleanField(default=False)
    merchant_note = fields.CharField(200, default="")
    reject_reason = fields.CharField(200, default="")
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    escalation_reason = fields.CharField(200, default="")
    escalated_at = fields.DatetimeField(null=True)
    office_decision = fields.CharField(8, default="")  # approve | reject
    office_note = fields.CharField(200, default="")
    office_by = fields.BigIntField(null=True)
    office_at = fields.DatetimeField(null=True)
    return_method = fields.CharField(8, default="")    # station | courier
    return_by = fields.DatetimeField(null=True)        # the buyer ships the return before this
    courier_company = fields.CharField(32, default="")
    tracking_no = fields.CharField(40, default="")
    return_station_id = fields.BigIntField(null=True)
    return_parcel_label = fields.CharField(24, default="")
    received_at = fields.DatetimeField(null=True)
    received_by = fields.BigIntField(null=True)
    refund_id = fields.BigIntField(null=True, db_index=True)
    replacement_order_id = fields.BigIntField(null=True)
    closed_reason = fields.CharField(64, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)
    # unused: the last step the old per-step job claimed. Step messages are owed through the notify
    # outbox now (one row per case and step); the column stays so no migration is needed.
    notified_step = fields.CharField(24, default="")

    class Meta:
        table = "aftersales"


class AfterSaleStep(Model):
    """What happened to a case, in order (the buyer's and the office's timeline; append-only)."""
    id = fields.BigIntField(primary_key=True)
    case = fields.ForeignKeyField("models.AfterSale", db_index=True, related_name="steps", on_delete=fields.CASCADE)
    step = fields.CharField(24)
    actor_id = fields.BigIntField(null=True)
    note = fields.CharField(200, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "aftersale_steps"


class AfterSalesWindow(Model):
    """The office's window for a category (hours after completion); a child category without its own
    row takes its parent's, then the defaults (settings)."""
    category = fields.OneToOneField("models.Category", primary_key=True, related_name=False,
                                    on_delete=fields.CASCADE)
    hours = fields.IntField()
    updated_by = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "aftersales_windows"


class AfterSalesPolicy(Model):
    """What a merchant offers beyond the rules: replacement (换货) and "changed mind" returns."""
    merchant = fields.OneToOneField("models.Merchant", primary_key=True, related_name=False,
                                    on_delete=fields.CASCADE)
    offers_replacement = fields.BooleanField(default=False)
    accepts_changed_mind = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "aftersales_policies"
