"""Product traceability (溯源): production batches (生产批次) with their process, inspections and
append-only corrections, trace codes (溯源码: one per batch, optional serial item codes), public
scans and counterfeit flags, inbound SMS lookups, and recalls (召回) with who was reached."""
from tortoise import fields
from tortoise.models import Model


class BatchStatus:
    OPEN = "open"            # editable until goods from it are sold
    RECALLED = "recalled"    # 已召回: locked, off sale


class Batch(Model):
    """A merchant's production or harvest batch. `code` is the merchant's batch number, the same free
    text the warehouse records on inbound notes and pick scans (unique per merchant). Once goods from
    it are sold (`locked_at`), the fields are never overwritten: corrections are appended."""
    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", related_name=False, on_delete=fields.RESTRICT)
    product = fields.ForeignKeyField("models.Product", related_name=False, on_delete=fields.RESTRICT)
    code = fields.CharField(64)
    sku_ids = fields.JSONField(default=list)  # the product's SKUs made from this batch (empty: all)
    producer_kind = fields.CharField(12, default="merchant")  # merchant | household (农户)
    producer_name = fields.CharField(64, default="")
    origin_town = fields.CharField(32, default="")
    origin_village = fields.CharField(32, default="")
    origin_plot = fields.CharField(64, default="")  # 地块 / 基地
    produced_on = fields.DateField(null=True)  # production or harvest date
    quantity = fields.IntField(null=True)  # units made, as the merchant declares them
    responsible_name = fields.CharField(32, default="")
    responsible_phone = fields.CharField(20, default="")
    note = fields.CharField(500, default="")
    status = fields.CharField(12, default=BatchStatus.OPEN, db_index=True)
    trace_code = fields.CharField(16, unique=True)  # the batch's own 溯源码
    item_serials = fields.IntField(default=0)  # item codes issued so far (serials 1..n)
    locked_at = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "trace_batches"
        unique_together = (("merchant", "code"),)
        indexes = (("product_id",),)


class BatchStep(Model):
    """One process step (生产过程: 播种, 施肥, 采收, 酿造, 灌装 ...) with time, actor and photos."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("models.Batch", related_name="steps", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    actor = fields.CharField(32, default="")
    description = fields.CharField(500)
    photos = fields.JSONField(default=list)  # media keys
    correction = fields.ForeignKeyField("models.BatchCorrection", null=True, related_name=False,
                                        on_delete=fields.SET_NULL)  # appended after the lock
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_batch_steps"
        indexes = (("batch_id", "at"),)


class BatchInspection(Model):
    """An inspection report (检测报告): lab, date, result, the report file."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("models.Batch", related_name="inspections", on_delete=fields.CASCADE)
    lab = fields.CharField(64)
    tested_on = fields.DateField()
    result = fields.CharField(8)  # pass | fail
    summary = fields.CharField(200, default="")
    file = fields.CharField(200, default="")  # media key
    correction = fields.ForeignKeyField("models.BatchCorrection", null=True, related_name=False,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_batch_inspections"
        indexes = (("batch_id",),)


class BatchCorrection(Model):
    """An append-only correction of a locked batch (更正记录): what, the new value, who and why."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("models.Batch", related_name="corrections", on_delete=fields.CASCADE)
    field = fields.CharField(24)  # a batch field, or "step" / "inspection" (an appended record)
    old_value = fields.JSONField(null=True)
    new_value = fields.JSONField(null=True)
    reason = fields.CharField(500)
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_batch_corrections"
        indexes = (("batch_id", "id"),)


class TraceCode(Model):
    """A trace code (溯源码): the batch's own (serial 0) or one item's (serial 1..n). Random, so codes
    cannot be guessed from one another."""
    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(16, unique=True)
    batch = fields.ForeignKeyField("models.Batch", related_name="codes", on_delete=fields.CASCADE)
    kind = fields.CharField(8)  # batch | item
    serial = fields.IntField(default=0)
    scan_count = fields.IntField(default=0)
    first_scan_at = fields.DatetimeField(null=True)
    last_scan_at = fields.DatetimeField(null=True)
    flagged = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_codes"
        unique_together = (("batch", "serial"),)


class TraceScan(Model):
    """One scan of a code with coarse place and time (no user, no precise position)."""
    id = fields.BigIntField(primary_key=True)
    trace_code = fields.ForeignKeyField("models.TraceCode", related_name="scans", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    channel = fields.CharField(8)  # web | api | sms
    city = fields.CharField(32, default="")
    lat = fields.FloatField(null=True)  # rounded to 0.1° (about 10 km)
    lng = fields.FloatField(null=True)
    ip_prefix = fields.CharField(48, default="")  # IPv4 /24 or IPv6 /48

    class Meta:
        table = "trace_scans"
        indexes = (("trace_code_id", "at"),)


class TraceFlag(Model):
    """A possible counterfeit (疑似假冒) for the county office: an item code scanned too often or in
    far-apart places in a short time."""
    id = fields.BigIntField(primary_key=True)
    trace_code = fields.ForeignKeyField("models.TraceCode", related_name="flags", on_delete=fields.CASCADE)
    batch_id = fields.BigIntField(db_index=True)
    reason = fields.CharField(16)  # many_scans | far_apart | report (a counterfeit report, #26)
    data = fields.JSONField(default=dict)
    status = fields.CharField(12, default="open", db_index=True)  # open | dismissed | confirmed
    resolved_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    resolved_at = fields.DatetimeField(null=True)
    note = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_flags"
        unique_together = (("trace_code", "reason"),)


class TraceSmsInbound(Model):
    """An inbound SMS lookup (上行短信), kept by the provider's message id: a redelivery is one lookup."""
    id = fields.BigIntField(primary_key=True)
    message_id = fields.CharField(64, unique=True)
    phone = fields.CharField(20)
    content = fields.CharField(200)
    code = fields.CharField(16, default="")  # the code found in it, if any
    answered_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trace_sms_inbound"


class RecallStatus:
    ACTIVE = "active"          # notices and parcel stops still going out
    COMPLETED = "completed"    # every contact reached or given up on, every parcel stopped


class Recall(Model):
    """A batch recall (召回) decided by the county office, with a reason; one per batch."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.OneToOneField("models.Batch", related_name="recall", on_delete=fields.RESTRICT)
    reason = fields.CharField(500)
    status = fields.CharField(12, default=RecallStatus.ACTIVE, db_index=True)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)
    # What stopped selling: SKU ids taken off sale, products taken down, live tie-ins withdrawn.
    withdrawn = fields.JSONField(default=dict)
    # Paid orders' units of the SKUs not picked yet: refund (default: refunded, approved at once) | wait
    # (the office waits for a new batch; the orders stay, listed in the report).
    unpicked = fields.CharField(8, default="refund")

    class Meta:
        table = "trace_recalls"


class RecallContact(Model):
    """One order that received the batch: its buyer's notices and its parcels' stop (the report row)."""
    id = fields.BigIntField(primary_key=True)
    recall = fields.ForeignKeyField("models.Recall", related_name="contacts", on_delete=fields.CASCADE)
    order_id = fields.BigIntField()
    buyer_id = fields.BigIntField()
    units = fields.IntField(default=0)
    # pending | sent | refused (WeChat: no acceptance) | declined (the buyer turned the template off)
    # | none (no openid) | failed
    wechat = fields.CharField(8, default="pending")
    # pending | sent | skipped (the subscribe message reached them: #29's rule) | none (no phone) | failed
    sms = fields.CharField(8, default="pending")
    # none (everything delivered) | pending (a parcel on the move: stopped when it arrives) | stopped
    parcels = fields.CharField(8, default="none")
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(200, default="")
    reached_at = fields.DatetimeField(null=True)
    # The refund of what the stopped parcels held (once the stop is complete), or why there was none.
    refund_id = fields.BigIntField(null=True)
    refund_error = fields.CharField(64, default="")
    # Units of the recalled SKUs the order still waited for (not picked) when the recall began, and
    # what became of them: "" (none) | pending (to refund) | refunded (unpicked_refund_id) | waiting
    # (the office waits for a new batch) | an error code (why no refund was made).
    unpicked_units = fields.IntField(default=0)
    unpicked = fields.CharField(24, default="")
    unpicked_refund_id = fields.BigIntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "trace_recall_contacts"
        unique_together = (("recall", "order_id"),)
