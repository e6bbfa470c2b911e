"""The stock journal (库存流水): one row per change of a SKU's sellable stock, reserved units or a live
quota, with why (reason) and what caused it (reference). Written only by server/inventory, in the
transaction of the change itself, so the journal and the counters never disagree."""
from tortoise import fields
from tortoise.models import Model


class StockReason:
    """Why a SKU's stock changed (StockMove.reason)."""
    CHECKOUT = "checkout"          # stock -> reserved for an order line
    CANCEL = "cancel"              # an unpaid order cancelled: reserved -> stock
    REFUND = "refund"              # a refund before the warehouse took the order: reserved -> stock
    TASK_CANCEL = "task_cancel"    # the warehouse stopped a closed order's task: reserved -> stock
    TASK_SHRINK = "task_shrink"    # refunded units not picked yet came off the task: reserved -> stock
    UNPACK = "unpack"              # a packed parcel taken apart: reserved -> stock
    SHIP = "ship"                  # goods left the county warehouse: reserved -> gone
    RETURN = "return"              # a returned parcel received back: -> stock
    INBOUND = "inbound"            # an inbound note received (集采统储): -> stock
    CREATE = "create"              # the units a SKU was created with
    ADJUST = "adjust"              # a manual adjustment, by its operator
    TO_LIVE = "to_live"            # stock -> a live tie-in's quota
    FROM_LIVE = "from_live"        # a tie-in's unsold quota back to the shelf (end, detach, recall)
    LIVE_SALE = "live_sale"        # quota -> stock, for the checkout's reservation to take at once
    LIVE_CANCEL = "live_cancel"    # a cancelled live order's units back into the session's quota
    COLLECTION = "collection"      # a station's collection received at the county warehouse (揽收入库)
    UNPICK = "unpick"              # refunded units already picked put back on the shelf: reserved -> stock

    ALL = (CHECKOUT, CANCEL, REFUND, TASK_CANCEL, TASK_SHRINK, UNPACK, SHIP, RETURN, INBOUND, CREATE,
           ADJUST, TO_LIVE, FROM_LIVE, LIVE_SALE, LIVE_CANCEL,
           COLLECTION, UNPICK)


class StockMove(Model):
    """One change of one SKU: the deltas of sellable stock, reserved units and live quota (the
    tie-in's remaining units), why, and the object that caused it (ref_type/ref_id: order_line,
    order, refund, fulfillment_task, parcel, inbound_line, live_tiein, batch (a recall), sku)."""
    id = fields.BigIntField(primary_key=True)
    # Plain ids (no foreign keys): journal rows are never deleted and are written on the hot path.
    sku_id = fields.BigIntField()
    reason = fields.CharField(16)
    d_stock = fields.IntField(default=0)
    d_reserved = fields.IntField(default=0)
    d_quota = fields.IntField(default=0)
    tiein_id = fields.BigIntField(null=True)
    ref_type = fields.CharField(24, default="")
    ref_id = fields.BigIntField(null=True)
    actor_id = fields.BigIntField(null=True)  # the operator of a manual change (or who caused it)
    note = fields.CharField(200, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "stock_moves"
        # A SKU's journal, newest first (keyset pages by id).
        indexes = (("sku_id", "id"),)
