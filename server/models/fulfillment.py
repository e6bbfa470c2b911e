"""County warehouse fulfilment (县仓履约) and three-level logistics (县 → 乡镇 → 村):
tasks, inbound stock notes (集采统储), parcels, their scan events, delivery promises and the WMS
integration's outbox/inbox."""
from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model


class WhereIndex(PartialIndex):
    """A partial B-tree index, CREATE INDEX ... WHERE <predicate>: PartialIndex's `condition` says only
    column = value, and an open breach is "breached_at IS NOT NULL AND met_at IS NULL"."""

    def __init__(self, *, fields: tuple[str, ...], name: str, where: str) -> None:
        super().__init__(fields=fields, name=name)
        self.where = where
        self.extra = f" WHERE {where}"

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        return path, args, {**kwargs, "where": self.where}


class TaskStatus:
    PENDING = "pending"        # handed off, nothing picked yet
    PICKING = "picking"        # some lines picked
    PACKED = "packed"          # every line packed into parcels
    SHIPPED = "shipped"        # every parcel has left the warehouse
    CANCELLED = "cancelled"


class ParcelStatus:
    PACKED = "packed"                      # at the county warehouse, labelled
    IN_TRANSIT = "in_transit"              # between two stations
    AT_STATION = "at_station"              # arrived at a station on its route
    READY_FOR_PICKUP = "ready_for_pickup"  # handed over to the pickup station (待自提)
    OUT_FOR_DELIVERY = "out_for_delivery"  # with the deliverer for home delivery (送货上门)
    DELIVERED = "delivered"                # buyer gave the proof-of-delivery code
    WITH_COURIER = "with_courier"          # third-party courier, outside the county
    RETURNED = "returned"                  # back at the county warehouse, stock restored


class FulfillmentTask(Model):
    """One paid order at the county warehouse: what to pick, where it goes, how it travels."""
    id = fields.BigIntField(primary_key=True)
    order = fields.OneToOneField("models.Order", related_name="fulfillment_task", on_delete=fields.RESTRICT)
    status = fields.CharField(16, default=TaskStatus.PENDING, db_index=True)
    # local: county → town → village (pickup or home delivery); courier: third party, outside the county
    mode = fields.CharField(8)
    fulfilment = fields.CharField(16)  # the order's pickup | delivery
    # Station ids from the county warehouse to the destination station (empty for courier).
    route = fields.JSONField(default=list)
    destination_station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                                 on_delete=fields.RESTRICT)
    town_station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                          on_delete=fields.RESTRICT)  # for waves: grouped by town
    cold_chain = fields.BooleanField(default=False)  # any cold-chain line (冷链)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    packed_at = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True)
    # Set once WeChat accepted the order's shipping information (发货信息录入).
    shipping_uploaded_at = fields.DatetimeField(null=True)
    # The upload's state (server/fulfillment/shipping.py): pending | uploaded | needs_person (WeChat
    # gave a final refusal: the office settles it) | not_required (not paid by JSAPI in the
    # mini-program) | resolved (a person settled it).
    shipping_state = fields.CharField(16, default="pending", db_index=True)
    shipping_attempts = fields.IntField(default=0)
    shipping_next_at = fields.DatetimeField(null=True, db_index=True)  # when a failed upload is tried again
    shipping_errcode = fields.IntField(null=True)
    shipping_error = fields.CharField(200, default="")

    class Meta:
        table = "fulfillment_tasks"


class TaskLine(Model):
    """One order line to pick and pack; picked and packed only ever grow, under guards."""
    id = fields.BigIntField(primary_key=True)
    task = fields.ForeignKeyField("models.FulfillmentTask", related_name="lines", on_delete=fields.CASCADE)
    order_line = fields.ForeignKeyField("models.OrderLine", db_index=True, related_name=False, on_delete=fields.RESTRICT)
    sku = fields.ForeignKeyField("models.Sku", related_name=False, on_delete=fields.RESTRICT)
    quantity = fields.IntField()
    picked_qty = fields.IntField(default=0)
    packed_qty = fields.IntField(default=0)
    cold_chain = fields.BooleanField(default=False)

    class Meta:
        table = "fulfillment_task_lines"


class PickRecord(Model):
    """A pick scan: which batch (批次) of a SKU went into a task line, by whom — for traceability."""
    id = fields.BigIntField(primary_key=True)
    line = fields.ForeignKeyField("models.TaskLine", related_name="picks", on_delete=fields.CASCADE)
    batch = fields.CharField(64)
    quantity = fields.IntField()
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    source = fields.CharField(8, default="api")  # api | wms
    # The console's scanner sends one id per scan: the same scan re-sent (a retry on a slow network,
    # a double submit) is recognised and written once.
    scan_id = fields.CharField(40, null=True, unique=True)
    trace_code = fields.CharField(16, null=True, db_index=True)  # an item's 溯源码 when one was scanned
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "fulfillment_picks"


class SkuBin(Model):
    """Where a SKU sits in the county warehouse (库位), set by the warehouse; pick lists sort by it."""
    sku = fields.OneToOneField("models.Sku", primary_key=True, related_name=False, on_delete=fields.CASCADE)
    bin = fields.CharField(16)
    updated_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sku_bins"


class InboundNote(Model):
    """A merchant's delivery into the county warehouse (入库单): expected lines, then received."""
    id = fields.BigIntField(primary_key=True)
    merchant = fields.ForeignKeyField("models.Merchant", related_name=False, on_delete=fields.RESTRICT)
    status = fields.CharField(12, default="open", db_index=True)  # open | received
    note = fields.CharField(200, default="")
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    received_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    received_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_notes"


class InboundLine(Model):
    id = fields.BigIntField(primary_key=True)
    note = fields.ForeignKeyField("models.InboundNote", related_name="lines", on_delete=fields.CASCADE)
    sku = fields.ForeignKeyField("models.Sku", related_name=False, on_delete=fields.RESTRICT)
    batch = fields.CharField(64)
    expected_qty = fields.IntField()
    received_qty = fields.IntField(null=True)
    scanned_qty = fields.IntField(default=0)  # units counted by scanning at the dock, before the receipt

    class Meta:
        table = "inbound_lines"
        indexes = (("sku", "batch"),)


class InboundScan(Model):
    """One unit scanned at the dock against an inbound line; scan_id makes a re-sent scan one."""
    id = fields.BigIntField(primary_key=True)
    line = fields.ForeignKeyField("models.InboundLine", related_name=False, on_delete=fields.CASCADE)
    scan_id = fields.CharField(40, unique=True)
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbound_scans"


class Parcel(Model):
    """A labelled parcel (包裹). Its position on `route` and `moving` say where it is; every change
    comes from a scan and is guarded by `version` (optimistic lock)."""
    id = fields.BigIntField(primary_key=True)
    label = fields.CharField(24, unique=True)  # printed as QR and Code 128
    task = fields.ForeignKeyField("models.FulfillmentTask", db_index=True, related_name="parcels", on_delete=fields.RESTRICT)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name=False, on_delete=fields.RESTRICT)
    status = fields.CharField(20, default=ParcelStatus.PACKED, db_index=True)
    direction = fields.CharField(8, default="forward")  # forward | return
    route = fields.JSONField(default=list)
    position = fields.IntField(default=0)
    moving = fields.BooleanField(default=False)
    version = fields.IntField(default=0)
    weight_g = fields.IntField()
    cold_chain = fields.BooleanField(default=False)
    # Proof of delivery (签收码) for home delivery: the buyer reads it to the deliverer.
    pod_code = fields.CharField(8, default="")
    courier_company = fields.CharField(32, default="")
    tracking_no = fields.CharField(40, default="")
    return_reason = fields.CharField(64, default="")
    packed_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    packed_at = fields.DatetimeField()
    dispatched_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "parcels"


class ParcelLine(Model):
    id = fields.BigIntField(primary_key=True)
    parcel = fields.ForeignKeyField("models.Parcel", related_name="lines", on_delete=fields.CASCADE)
    task_line = fields.ForeignKeyField("models.TaskLine", related_name=False, on_delete=fields.RESTRICT)
    sku = fields.ForeignKeyField("models.Sku", related_name=False, on_delete=fields.RESTRICT)
    quantity = fields.IntField()

    class Meta:
        table = "parcel_lines"


class ScanEvent(Model):
    """One transfer scan (转运记录): append-only; scan_key makes the same scan twice one event."""
    id = fields.BigIntField(primary_key=True)
    parcel = fields.ForeignKeyField("models.Parcel", related_name="events", on_delete=fields.CASCADE)
    kind = fields.CharField(20)  # packed | dispatched | arrived | handed_over | out_for_delivery | delivered ...
    direction = fields.CharField(8, default="forward")
    station = fields.ForeignKeyField("models.Station", null=True, related_name=False, on_delete=fields.RESTRICT)
    actor = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    source = fields.CharField(8, default="api")  # api | wms
    scan_key = fields.CharField(96, unique=True)
    data = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "scan_events"
        indexes = (("parcel", "id"),)


class DeliveryPromise(Model):
    """A deadline a parcel carries for one leg (时效承诺): county_town, town_village, county_village."""
    id = fields.BigIntField(primary_key=True)
    parcel = fields.ForeignKeyField("models.Parcel", related_name="promises", on_delete=fields.CASCADE)
    leg = fields.CharField(16)
    town_station = fields.ForeignKeyField("models.Station", null=True, related_name=False,
                                          on_delete=fields.RESTRICT)
    due_at = fields.DatetimeField(db_index=True)
    met_at = fields.DatetimeField(null=True)
    breached_at = fields.DatetimeField(null=True)  # flagged by the SLA job or by a late scan

    class Meta:
        table = "delivery_promises"
        unique_together = (("parcel", "leg"),)
        # The office's open-breach queue and Today's count read the few breached and not yet met: by
        # met_at first (the open ones, a day's parcels among every promise ever made), then breached_at.
        # (An index on breached_at alone held every breach ever flagged, most of them met long ago: the
        # count read the whole table, 14 ms at 100,000 orders.)
        # The open ones newest first (the queue's keyset order) from an index of only them: the planner
        # guessed ~500 open of 146,000 promises where 9 were, and walked the primary key backwards
        # through all of them (31 ms at 100,000 orders; 0.1 ms with this index).
        indexes = (("met_at", "breached_at"),
                   WhereIndex(fields=("id",), name="idx_delivery_pr_open_breach",
                              where="breached_at IS NOT NULL AND met_at IS NULL"))


class WmsOutbox(Model):
    """An outbound WMS webhook event; delivered at least once, idempotent by event_id."""
    id = fields.BigIntField(primary_key=True)
    event_id = fields.CharField(40, unique=True)
    kind = fields.CharField(32)
    payload = fields.JSONField()
    status = fields.CharField(12, default="pending", db_index=True)  # pending | delivered | failed
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "wms_outbox"


class WmsInbox(Model):
    """Inbound WMS events seen, by their event id: a replay is refused."""
    id = fields.BigIntField(primary_key=True)
    event_id = fields.CharField(64, unique=True)
    kind = fields.CharField(32)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wms_inbox"


class UnpickItem(Model):
    """Picked, unpacked units of a refund to put back on the shelf (退款回架, issue #25): listed for the
    warehouse; the refund waits until they are back. With parcel_id the units are packed in a parcel
    still at the warehouse: it cannot leave until they are taken out of it (un-pack).
    status: pending | done | cancelled."""
    id = fields.BigIntField(primary_key=True)
    task = fields.ForeignKeyField("models.FulfillmentTask", db_index=True, related_name=False,
                                  on_delete=fields.CASCADE)
    line = fields.ForeignKeyField("models.TaskLine", related_name=False, on_delete=fields.CASCADE)
    sku_id = fields.BigIntField()
    quantity = fields.IntField()
    refund_id = fields.BigIntField(db_index=True)
    # the packed, not yet dispatched parcel the units are taken out of (un-pack); null: picked, not packed
    parcel_id = fields.BigIntField(null=True, db_index=True)
    status = fields.CharField(12, default="pending", db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)
    done_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)

    class Meta:
        table = "fulfillment_unpicks"
