from tortoise import fields
from tortoise.models import Model


class PaymentStatus:
    CREATED = "created"    # prepay order open at WeChat (or nothing yet)
    PAID = "paid"          # applied to its order
    CLOSED = "closed"      # closed at WeChat / superseded, never paid
    STRAY = "stray"        # money arrived for an order that could not take it: refunded automatically


class Payment(Model):
    """One attempt to collect an order's money: a WeChat prepay order (JSAPI or NATIVE) or cash at a
    station counter. Our out_trade_no is unique; WeChat's transaction_id too once paid."""
    id = fields.BigIntField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name="payments", on_delete=fields.RESTRICT)
    method = fields.CharField(16)  # wechat_jsapi | wechat_native | cash
    out_trade_no = fields.CharField(32, unique=True)
    amount_fen = fields.BigIntField()
    status = fields.CharField(16, default=PaymentStatus.CREATED, db_index=True)
    prepay_id = fields.CharField(64, default="")
    code_url = fields.CharField(256, default="")
    transaction_id = fields.CharField(64, null=True, unique=True)
    station = fields.ForeignKeyField("models.Station", null=True, related_name=False, on_delete=fields.RESTRICT)
    actor_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    last_queried_at = fields.DatetimeField(null=True)
    # Which part of the order it pays: "" the whole order; deposit | balance for a pre-sale (预售定金/尾款).
    part = fields.CharField(8, default="")

    class Meta:
        table = "payments"


class PaymentNotification(Model):
    """Every WeChat Pay notification as received (raw), keyed by the hash of its body: identical
    retries land on one row (received_count), and the outcome says what we did with it."""
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(8)  # pay | refund
    body_hash = fields.CharField(64, unique=True)
    body = fields.TextField()  # the raw XML as received
    out_trade_no = fields.CharField(64, default="", db_index=True)
    transaction_id = fields.CharField(64, default="")
    out_refund_no = fields.CharField(64, default="")
    verified = fields.BooleanField(default=False)
    outcome = fields.CharField(32, default="received")  # applied | duplicate | stray | rejected | failed
    error = fields.CharField(200, default="")
    received_count = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    last_received_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment_notifications"


class RefundStatus:
    REQUESTED = "requested"    # waits for the merchant or an admin
    APPROVED = "approved"      # to be submitted to WeChat (or paid back in cash); retried with backoff
    #                            while WeChat cannot take it (network, HTTP 5xx, SYSTEMERROR)
    PROCESSING = "processing"  # submitted; waits for WeChat's refund notification
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"          # WeChat refused for good; the office retries it or settles it another way
    UNPICKING = "unpicking"    # approved; waits for the warehouse to put picked units back (issue #25)

    OPEN = (REQUESTED, APPROVED, PROCESSING, UNPICKING)


class Refund(Model):
    """A refund (退款) of some lines or a whole order; refund_no is WeChat's out_refund_no.
    kind=stray: the automatic refund of a payment that arrived for an order that could not take it."""
    id = fields.BigIntField(primary_key=True)
    refund_no = fields.CharField(32, unique=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name="refunds", on_delete=fields.RESTRICT)
    payment = fields.ForeignKeyField("models.Payment", null=True, related_name="refunds",
                                     on_delete=fields.RESTRICT)
    # order | stray | deposit (a pre-sale deposit given back, server/presale) | part (one payment's share of
    # an order refund that spans several payments: WeChat refunds each payment by itself)
    kind = fields.CharField(8, default="order")
    parent = fields.ForeignKeyField("models.Refund", null=True, related_name="parts", on_delete=fields.RESTRICT)
    amount_fen = fields.BigIntField()
    lines = fields.JSONField(default=list)  # [{"line_id", "qty", "amount"}]
    status = fields.CharField(16, default=RefundStatus.REQUESTED, db_index=True)
    reason = fields.CharField(200, default="")
    requested_by = fields.BigIntField(null=True)
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    auto_approved = fields.BooleanField(default=False)
    restock = fields.BooleanField(default=False)  # the goods never left the warehouse
    # issue #25: the freight part of amount_fen (a whole-order refund, or the merchant's fault), and
    # whether the warehouse task already gave the units back at approval (success leaves stock alone).
    shipping_fen = fields.BigIntField(default=0)
    stock_held = fields.BooleanField(default=False)
    wechat_refund_id = fields.CharField(64, default="")
    error = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    submitted_at = fields.DatetimeField(null=True)
    succeeded_at = fields.DatetimeField(null=True)
    # Submissions WeChat could not take (transient errors) and when the next one is due.
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    # "" = through WeChat Pay (or the counter, for cash orders); cash | bank | other = the office
    # recorded that a failed refund was paid back another way (settle_note says how).
    settled_via = fields.CharField(8, default="")
    settle_note = fields.CharField(200, default="")

    class Meta:
        table = "refunds"


class ReconcileIssue:
    MISSING_OURS = "missing_ours"      # on WeChat's bill, not (or not so) in our records
    MISSING_WECHAT = "missing_wechat"  # ours, not on WeChat's bill
    AMOUNT = "amount"                  # both have it; the amounts differ
    STATUS = "status"                  # both have it; the states differ


class ReconcileDifference(Model):
    """One difference between our payments/refunds and WeChat Pay's trade bill of a day, found by the
    daily reconciliation; it stays listed until the office marks it resolved (with a note)."""
    id = fields.BigIntField(primary_key=True)
    bill_date = fields.DateField(db_index=True)  # the Asia/Shanghai day of the bill
    source = fields.CharField(8, default="v2")   # the bill compared: v2 downloadbill | v3 tradebill
    kind = fields.CharField(8)                   # payment | refund
    ref = fields.CharField(64)                   # out_trade_no (payment) or out_refund_no (refund)
    out_trade_no = fields.CharField(64, default="")
    issue = fields.CharField(16)                 # ReconcileIssue
    ours_fen = fields.BigIntField(null=True)
    wechat_fen = fields.BigIntField(null=True)
    ours_status = fields.CharField(16, default="")
    wechat_status = fields.CharField(16, default="")
    detected_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True, db_index=True)
    resolved_by = fields.BigIntField(null=True)
    resolution_note = fields.CharField(200, default="")

    class Meta:
        table = "reconcile_differences"
        unique_together = (("bill_date", "kind", "ref", "issue"),)
