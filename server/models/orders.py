from tortoise import fields
from tortoise.models import Model


class OrderStatus:
    """Order states (guarded transitions: an update only from the expected state)."""
    PENDING_PAYMENT = "pending_payment"   # 待支付
    PAID = "paid"                         # 已支付
    IN_FULFILMENT = "in_fulfilment"       # 县仓履约中
    READY_FOR_PICKUP = "ready_for_pickup"  # 待自提 (at the station)
    OUT_FOR_DELIVERY = "out_for_delivery"  # 配送中
    DELIVERED = "delivered"               # 已送达
    COMPLETED = "completed"               # 已完成
    CANCELLED = "cancelled"               # 已取消 (before payment: buyer or timeout)
    CLOSED = "closed"                     # 已关闭 (fully refunded after payment)
    DEPOSIT_PAID = "deposit_paid"         # 已付定金 (pre-sale: the balance is still to pay, server/presale)

    ALL = (PENDING_PAYMENT, PAID, IN_FULFILMENT, READY_FOR_PICKUP, OUT_FOR_DELIVERY, DELIVERED,
           COMPLETED, CANCELLED, CLOSED, DEPOSIT_PAID)

    # The state table: from -> the states it may become. server.orders.service.transition() refuses
    # anything else (a ValueError: a programming error, not a client's). Closed = fully refunded, so
    # every state that holds money may close; cancelled and closed are final.
    ALLOWED = {
        PENDING_PAYMENT: (PAID, CANCELLED, DEPOSIT_PAID),
        # Pre-sale: the balance paid -> paid; unpaid by its deadline (or the deposit refunded) -> cancelled.
        DEPOSIT_PAID: (PAID, CANCELLED),
        PAID: (IN_FULFILMENT, READY_FOR_PICKUP, CLOSED),  # ready: a station receives it before handoff
        IN_FULFILMENT: (READY_FOR_PICKUP, OUT_FOR_DELIVERY, CLOSED),
        READY_FOR_PICKUP: (COMPLETED, CLOSED),
        OUT_FOR_DELIVERY: (DELIVERED, COMPLETED, CLOSED),  # completed: the buyer confirms receipt
        DELIVERED: (COMPLETED, CLOSED),
        COMPLETED: (CLOSED,),
        CANCELLED: (),
        CLOSED: (),
    }


class Order(Model):
    """A buyer's order. Money in fen; our order_no is WeChat Pay's out_trade_no."""
    id = fields.BigIntField(primary_key=True)
    order_no = fields.CharField(32, unique=True)
    buyer = fields.ForeignKeyField("models.User", related_name="orders", on_delete=fields.RESTRICT)
    status = fields.CharField(24, default=OrderStatus.PENDING_PAYMENT, db_index=True)
    fulfilment = fields.CharField(16)  # pickup | delivery
    station = fields.ForeignKeyField("models.Station", null=True, related_name="pickup_orders",
                                     on_delete=fields.RESTRICT)  # pickup station
    address = fields.JSONField(null=True)  # delivery: name, phone, town, village, detail
    goods_fen = fields.BigIntField(default=0)
    shipping_fen = fields.BigIntField(default=0)
    # Freight per merchant (server/orders/pricing.py): [{"merchant_id", "fen", "carrier", "template_id"}]
    shipping_split = fields.JSONField(null=True)
    # Coupons (server/promotions): total_fen = goods + shipping - discount; `discounts` lists each
    # coupon spent ({user_coupon_id, coupon_id, name, funder, amount_fen}).
    discount_fen = fields.BigIntField(default=0)
    discounts = fields.JSONField(default=list)
    total_fen = fields.BigIntField(default=0)
    paid_fen = fields.BigIntField(default=0)
    refunded_fen = fields.BigIntField(default=0)
    payment_method = fields.CharField(16, default="")  # wechat_jsapi | wechat_native | cash
    # Attribution (livestream issue): the live session and livestreamer the order came from.
    source = fields.CharField(16, default="")  # "" | live
    live_session_id = fields.BigIntField(null=True, db_index=True)
    livestreamer_id = fields.BigIntField(null=True, db_index=True)
    # 代购: station staff who placed the order for a villager.
    assisted_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    idempotency_key = fields.CharField(64, null=True)
    # sha256 of the checkout request: the same Idempotency-Key with a different body is a 409.
    request_hash = fields.CharField(64, default="")
    note = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    expires_at = fields.DatetimeField(null=True)  # unpaid orders are cancelled after this
    paid_at = fields.DatetimeField(null=True, db_index=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(64, default="")
    completed_at = fields.DatetimeField(null=True)
    # Pre-sale (server/presale): the warehouse gets the order no earlier than this (the ship-from date).
    ship_not_before = fields.DatetimeField(null=True)

    class Meta:
        table = "orders"
        unique_together = (("buyer", "idempotency_key"),)


class OrderLine(Model):
    """One SKU in an order, with the price, merchant and SKU snapshot at checkout."""
    id = fields.BigIntField(primary_key=True)
    # Indexed: Tortoise indexes no foreign key, and every order read fetches its lines by order_id.
    order = fields.ForeignKeyField("models.Order", related_name="lines", on_delete=fields.CASCADE,
                                   db_index=True)
    # References without a database constraint: a line keeps its own snapshot (name, spec, price),
    # merchants, products and SKUs are never deleted (they go off sale or are suspended), and the
    # checkout statement takes these ids from the rows it joins. Checking three foreign keys per
    # line was half of that statement's time (EXPLAIN ANALYZE, 49 orders: 1.4 of 5.3 ms).
    merchant = fields.ForeignKeyField("models.Merchant", related_name="order_lines", on_delete=fields.NO_ACTION,
                                      db_constraint=False)
    product = fields.ForeignKeyField("models.Product", related_name="order_lines", on_delete=fields.NO_ACTION,
                                     db_constraint=False)
    sku = fields.ForeignKeyField("models.Sku", related_name="order_lines", on_delete=fields.NO_ACTION,
                                 db_constraint=False)
    product_name = fields.CharField(64)
    sku_spec = fields.CharField(32)
    image = fields.CharField(300, default="")
    unit_price = fields.IntField()  # fen
    quantity = fields.IntField()
    amount = fields.BigIntField()  # unit_price * quantity
    # Coupon savings on this line (the buyer pays amount - discount_fen); platform_discount_fen is
    # the part the platform funds (the rest the merchant), split so in the ledger (server/ledger).
    discount_fen = fields.BigIntField(default=0)
    platform_discount_fen = fields.BigIntField(default=0)
    refunded_qty = fields.IntField(default=0)
    refunded_fen = fields.BigIntField(default=0)
    cold_chain = fields.BooleanField(default=False)
    commission_bp = fields.IntField(default=0)  # livestream commission rate on this line
    # The fee terms in force when the line was paid (recorded by the payment, server/settlement/terms):
    # its sale shares and every later reversal use them. None: paid before terms were recorded
    # (the global settings then apply).
    platform_fee_bp = fields.IntField(null=True)
    station_fee_bp = fields.IntField(null=True)

    class Meta:
        table = "order_lines"
        # A merchant's orders are those with a line of theirs (the merchant console's order list,
        # its filters and counts): found from this index alone, without reading the lines.
        indexes = (("merchant_id", "order_id"),)


class OrderEvent(Model):
    """One status change of an order (append-only): who moved it from where to where, and why."""
    id = fields.BigIntField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", db_index=True, related_name="events", on_delete=fields.CASCADE)
    from_status = fields.CharField(128, default="")
    to_status = fields.CharField(24)
    actor_id = fields.BigIntField(null=True)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "order_events"
