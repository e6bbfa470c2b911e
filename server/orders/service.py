"""Orders (订单): checkout with atomic stock reservation, guarded status transitions, cancellation
of unpaid orders (stock back exactly once), and the buyer's, merchant's and admin's views."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

import orjson
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Subquery

from server.inventory import service as inventory
from server.inventory.errors import StockRefused
from server.kit import clock, metrics, runtime
from server.kit import db as kdb
from server.kit import redis as kr
from server.kit.db import atomic
from server.kit.errors import AppError, Conflict, KitCode, NotFound, ValidationFailed
from server.kit.jobs import enqueue, enqueue_many
from server.kit.schemas import decode_cursor, encode_cursor
from server.models.cart import CartItem
from server.models.catalog import Product, Sku
from server.models.inventory import StockReason
from server.models.orders import Order, OrderEvent, OrderLine, OrderStatus
from server.models.payments import Payment
from server.models.stations import Station
from server.notify import outbox as notify_outbox
from server.orders import hooks
from server.orders import pricing
from server.orders.schemas import (AdminOrderQuery, CheckoutIn, OrderEventOut, OrderLineOut, OrderListQuery,
                                   OrderOut, OrderPage)
from server.orders.errors import OrderCode
from server.promotions import service as promotions
from server.promotions.errors import PromoCode
from server.sharing import service as sharing

log = logging.getLogger("kazuo.orders")
S = OrderStatus
# Orders that hold money (a refund can be asked for).
PAID_STATES = (S.PAID, S.IN_FULFILMENT, S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.COMPLETED)


def new_order_no() -> str:
    """Our order number, also WeChat Pay's out_trade_no (≤32 chars of [0-9A-Za-z])."""
    return f"KZ{clock.now():%y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


async def transition(order_id: int, expected: Iterable[str], new: str, *, conn: Any,
                     actor_id: int | None = None, **fields: Any) -> None:
    """Move an order to `new` only from one of `expected` (a guarded update); 409 invalid_transition otherwise.
    Every expected -> new must be in the state table (OrderStatus.ALLOWED), else ValueError."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    if new not in S.ALL:
        raise ValueError(f"unknown order status {new!r}")
    for e in expected:
        if new not in S.ALLOWED.get(e, ()):
            raise ValueError(f"an order never goes from {e!r} to {new!r} (OrderStatus.ALLOWED)")
    prev = expected[0] if len(expected) == 1 else None
    if prev is None:  # for the event log only: the guard below is what protects the change
        rows = await Order.filter(id=order_id).using_db(conn).values_list("status", flat=True)
        prev = rows[0] if rows and rows[0] in expected else "|".join(expected)[:128]
    n = await Order.filter(id=order_id, status__in=expected).using_db(conn).update(
        status=new, updated_at=clock.now(), **fields)
    if n == 0:
        raise await refusal(order_id, expected, new, conn)
    await OrderEvent.create(order_id=order_id, from_status=prev, to_status=new,
                            actor_id=actor_id, data=event_data(fields), using_db=conn)
    await notify_outbox.order_moved(order_id, new, conn)  # paid, out for delivery: the buyer is told once


def event_data(fields: dict[str, Any]) -> dict:
    """The data a transition's event records: the fields it set, times as ISO text."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()
            if isinstance(v, (str, int, float, bool)) or hasattr(v, "isoformat")}


async def refusal(order_id: int, expected: Iterable[str], new: str, conn: Any) -> AppError:
    """Why a guarded transition moved nothing: 404 no such order, else 409 invalid_transition naming
    the order's status now."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    current = await Order.filter(id=order_id).using_db(conn).values_list("status", flat=True)
    if not current:
        return NotFound("order not found")
    return Conflict(f"the order is {current[0]}; it cannot become {new}", code=KitCode.INVALID_TRANSITION,
                    details={"order_id": order_id, "status": current[0], "expected": expected, "new": new})


def pg_transition(expected: str, new: str, *, stamped: tuple[str, ...] = ()) -> str:
    """transition() as CTEs for a hot write's own statement (PostgreSQL), the same guard and event:
    it reads a CTE `moving` (order_id, actor_id, at timestamptz, data jsonb: event_data() of the
    stamps) and defines `moved` ("id" of each order moved from `expected` to `new`, its `stamped`
    columns and updated_at set to `at`) and the orders' events. An order no longer in `expected` is
    left alone and missing from `moved` (refusal() says why). Only for a move that owes the buyer no
    message: transition() tells the notify outbox, this does not."""
    if new not in S.ALLOWED.get(expected, ()):
        raise ValueError(f"an order never goes from {expected!r} to {new!r} (OrderStatus.ALLOWED)")
    if new in notify_outbox.ON_ORDER_STATUS:
        raise ValueError(f"reaching {new!r} owes the buyer a message: use transition()")
    stamps = "".join(f', "{c}" = m.at' for c in stamped)
    return f"""
moved AS (
  UPDATE "orders" o SET "status" = '{new}', "updated_at" = m.at{stamps}
  FROM moving m WHERE o."id" = m.order_id AND o."status" = '{expected}'
  RETURNING o."id"
),
moved_events AS (
  INSERT INTO "order_events" ("order_id", "from_status", "to_status", "actor_id", "data", "created_at")
  SELECT mv."id", '{expected}', '{new}', m.actor_id, m.data, m.at FROM moved mv JOIN moving m ON m.order_id = mv."id"
)"""


# ---- sales counters (Product.sales, Sku.sales: sorting by sales, rankings) ----------------------
async def count_sales(line_units: dict[int, int], conn: Any, *, sign: int = 1) -> None:
    """Add (sign=1: a payment applied) or take off (sign=-1: a refund succeeded) {order_line_id: units}
    to its SKU's and product's sales. Called only behind the once-only guards of a payment and of a
    refund, in their transaction, so a unit counts once. SKUs then products, in id order (no lock-order
    deadlock between two payments)."""
    rows = await OrderLine.filter(id__in=list(line_units)).using_db(conn).values("id", "sku_id", "product_id")
    per_sku: dict[int, int] = {}
    per_product: dict[int, int] = {}
    for r in rows:
        n = sign * line_units[r["id"]]
        per_sku[r["sku_id"]] = per_sku.get(r["sku_id"], 0) + n
        per_product[r["product_id"]] = per_product.get(r["product_id"], 0) + n
    for sku_id, n in sorted(per_sku.items()):
        if n:
            await Sku.filter(id=sku_id).using_db(conn).update(sales=F("sales") + n)
    for product_id, n in sorted(per_product.items()):
        if n:
            await Product.filter(id=product_id).using_db(conn).update(sales=F("sales") + n)


# ---- output ----------------------------------------------------------------------------------
def _line_out(line: OrderLine) -> OrderLineOut:
    return OrderLineOut(id=line.id, merchant_id=line.merchant_id, product_id=line.product_id,
                        sku_id=line.sku_id, product_name=line.product_name, sku_spec=line.sku_spec,
                        image=line.image, unit_price=line.unit_price, quantity=line.quantity,
                        amount=line.amount, refunded_qty=line.refunded_qty, refunded_fen=line.refunded_fen,
                        cold_chain=line.cold_chain, discount_fen=line.discount_fen)


def _order_out(o: Order, lines: list[OrderLine]) -> OrderOut:
    return OrderOut(id=o.id, order_no=o.order_no, buyer_id=o.buyer_id, status=o.status, fulfilment=o.fulfilment,
                    station_id=o.station_id, address=o.address, goods_fen=o.goods_fen,
                    shipping_fen=o.shipping_fen, shipping_split=o.shipping_split, discount_fen=o.discount_fen,
                    discounts=o.discounts or [], total_fen=o.total_fen, paid_fen=o.paid_fen,
                    refunded_fen=o.refunded_fen, payment_method=o.payment_method, source=o.source,
                    live_session_id=o.live_session_id, assisted_by_id=o.assisted_by_id, note=o.note,
                    created_at=o.created_at, expires_at=o.expires_at, paid_at=o.paid_at,
                    cancelled_at=o.cancelled_at, cancel_reason=o.cancel_reason,
                    completed_at=o.completed_at, lines=[_line_out(x) for x in lines])


async def order_out(order_id: int, conn: Any = None) -> OrderOut:
    """An order with its lines."""
    o = await Order.get_or_none(id=order_id, using_db=conn)
    if o is None:
        raise NotFound("order not found")
    lines = await OrderLine.filter(order_id=order_id).using_db(conn).order_by("id")
    return _order_out(o, lines)


async def _page(qs, limit: int, cursor: str | None, line_filter=None) -> OrderPage:
    c = decode_cursor(cursor, 1)
    if c is not None:
        if not isinstance(c[0], int):
            raise ValidationFailed.field("cursor", "malformed cursor")
        qs = qs.filter(id__lt=c[0])
    orders = await qs.order_by("-id").limit(limit + 1)
    more = len(orders) > limit
    orders = orders[:limit]
    lq = OrderLine.filter(order_id__in=[o.id for o in orders])
    if line_filter is not None:
        lq = lq.filter(**line_filter)
    by_order: dict[int, list[OrderLine]] = {}
    for line in await lq.order_by("id"):
        by_order.setdefault(line.order_id, []).append(line)
    return OrderPage(items=[_order_out(o, by_order.get(o.id, [])) for o in orders],
                     next_cursor=encode_cursor([orders[-1].id]) if more and orders else None)


# ---- checkout --------------------------------------------------------------------------------
def _request_hash(data: CheckoutIn, assisted_by: int | None) -> str:
    raw = orjson.dumps([data.model_dump(mode="json"), assisted_by], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


def _check_shape(data: CheckoutIn) -> None:
    s = runtime.settings()
    if len(data.lines) > s.order_max_lines:
        raise ValidationFailed.field("lines", f"at most {s.order_max_lines} lines")
    seen: set[int] = set()
    for i, line in enumerate(data.lines):
        if line.sku_id in seen:
            raise ValidationFailed.field(f"lines.{i}.sku_id", "the same SKU appears twice")
        seen.add(line.sku_id)
        if line.quantity > s.order_max_quantity:
            raise ValidationFailed.field(f"lines.{i}.quantity", f"at most {s.order_max_quantity}")
    check_destination(data)


def check_destination(data: Any) -> None:
    """Pickup names a station and no address; delivery an address and no station (422 naming the
    field). data: a pydantic model with fulfilment, station_id and address (a checkout, a live buy)."""
    # From the model's own fields: a getattr of a field the model lacks (a live buy has no address_id)
    # goes through pydantic's __getattr__ and a raised AttributeError, ~4% of a flash crowd's 409.
    address_id = vars(data).get("address_id")
    if data.fulfilment == "pickup":
        if data.station_id is None:
            raise ValidationFailed.field("station_id", "required for pickup")
        if data.address is not None:
            raise ValidationFailed.field("address", "not used for pickup")
        if address_id is not None:
            raise ValidationFailed.field("address_id", "not used for pickup")
    else:
        if data.address is None and address_id is None:
            raise ValidationFailed.field("address", "required for delivery (or address_id)")
        if data.address is not None and address_id is not None:
            raise ValidationFailed.field("address_id", "give address or address_id, not both")
        if data.station_id is not None:
            raise ValidationFailed.field("station_id", "not used for delivery")


_station_ok: dict[int, tuple[bool, float]] = {}
STATION_TTL = 30.0  # a suspended station stops taking pickup orders within this many seconds


async def _pickup_station_ok(station_id: int) -> bool:
    """Whether the station takes pickup orders; remembered briefly in-process (stations rarely change)."""
    hit = _station_ok.get(station_id)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    rows = await Station.filter(id=station_id).values("status", "services")
    ok = bool(rows) and rows[0]["status"] == "active" and (not rows[0]["services"] or "pickup" in rows[0]["services"])
    if len(_station_ok) > 10_000:
        _station_ok.clear()
    _station_ok[station_id] = (ok, time.monotonic() + STATION_TTL)
    return ok


async def _existing(buyer_id: int, key: str, request_hash: str) -> OrderOut | None:
    rows = await Order.filter(buyer_id=buyer_id, idempotency_key=key).values_list("id", "request_hash")
    if not rows:
        return None
    if rows[0][1] and rows[0][1] != request_hash:
        raise Conflict("this Idempotency-Key was used for a different order",
                       code=OrderCode.IDEMPOTENCY_KEY_REUSED)
    return await order_out(rows[0][0])


async def create_order(buyer_id: int, data: CheckoutIn, *, idempotency_key: str | None,
                       assisted_by: int | None = None, holds: dict | None = None) -> OrderOut:
    """Check out: validate, reserve stock atomically, record the order; a retried key returns the same order.
    holds: what the source took before the checkout (hooks.SourceContext.holds)."""
    s = runtime.settings()
    _check_shape(data)
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 64 and idempotency_key.isprintable()):
        raise ValidationFailed.field("Idempotency-Key", "1-64 printable characters")
    # Redis first: when it is down the checkout stops here with a 503, before touching stock.
    await kr.hit_limit("checkout", str(buyer_id), s.checkout_rate_per_minute, 60,
                       message="too many checkouts, wait a minute")
    # Only a keyed request can be compared with an earlier one.
    rhash = _request_hash(data, assisted_by) if idempotency_key else ""
    # A source hook takes its quota before the order is written: a retry must not run it again.
    # Without one, a retry needs no lookup first: the key's unique index turns it away (below).
    if idempotency_key and data.source is not None:
        found = await _existing(buyer_id, idempotency_key, rhash)
        if found is not None:
            return found
    share = await sharing.check_share(data.share_id)  # an unknown share is refused before anything is taken
    new = _NewOrder.start(buyer_id, data, idempotency_key, rhash, assisted_by)
    new.holds = holds or {}
    rollback_hooks: list = []
    try:
        await _checkout(new, rollback_hooks)
    except BaseException as exc:
        await _run_rollbacks(rollback_hooks)
        # A retried Idempotency-Key, or two requests with one key racing, returns the first order,
        # whatever turned this attempt away (the key's unique index, or the stock the first one took).
        if idempotency_key and isinstance(exc, (IntegrityError, Conflict)):
            found = await _existing(buyer_id, idempotency_key, rhash)
            if found is not None:
                return found
        raise
    metrics.ORDERS_PLACED.inc()
    out = new.out()
    await sharing.attribute(out.id, buyer_id, share)  # after the commit: the checkout stays one statement
    return out


@dataclass(frozen=True)
class QueuedCheckout:
    """One order of a batch written together by create_orders_together (a queued ticket)."""
    buyer_id: int
    data: CheckoutIn
    key: str                      # the Idempotency-Key: a batch run twice finds the same orders
    holds: dict                   # what the source took before (hooks.SourceContext.holds)


class BatchRefused(Exception):
    """create_orders_together wrote nothing: write each order alone (create_order says why one fails)."""


def _batchable(it: QueuedCheckout, source: Any) -> bool:
    d = it.data
    return bool(it.key) and d.source == source and not d.coupon_ids and d.share_id is None


async def _existing_many(items: list[QueuedCheckout]) -> dict[tuple[int, str], tuple[int, str]]:
    """{(buyer, key): (order id, request hash)} of the items whose Idempotency-Key has an order."""
    rows = await Order.filter(buyer_id__in={it.buyer_id for it in items},
                              idempotency_key__in={it.key for it in items}).values_list(
        "buyer_id", "idempotency_key", "id", "request_hash")
    pairs = {(it.buyer_id, it.key) for it in items}
    return {(b, k): (i, h) for b, k, i, h in rows if (b, k) in pairs}


async def create_orders_together(items: list[QueuedCheckout]) -> list[int]:
    """Write the orders of one source (a live session's queued winners) in one transaction: the
    source's batch resolver (hooks.register_source resolve_many) takes for all of them, then the
    checkout writer writes them all (on PostgreSQL one _CHECKOUT_PG, as group commit does). Returns
    each item's order id; an item whose Idempotency-Key has an order already gets that order, nothing
    written for it (a batch run twice). All or nothing: on any refusal this raises (BatchRefused, the
    refusal itself, or the database's error) with nothing written, and the caller writes each order
    alone with create_order, the exact path. The buyer's checkout rate limit is not hit here: the
    source admitted each item within its own per-buyer limit."""
    if not items:
        return []
    source = items[0].data.source
    resolve_many = hooks.batch_resolver(source.kind) if source is not None else None
    if resolve_many is None or not all(_batchable(it, source) for it in items):
        raise BatchRefused("these orders cannot be written together")
    hashes: dict[int, str] = {}  # the crowd's checkouts are often one object: hashed once
    for it in items:
        _check_shape(it.data)
        if id(it.data) not in hashes:
            hashes[id(it.data)] = _request_hash(it.data, None)
    for station_id in {it.data.station_id for it in items if it.data.fulfilment == "pickup"}:
        if not await _pickup_station_ok(station_id):
            raise BatchRefused("a pickup station does not take orders")
    found = await _existing_many(items)
    if any(found[(it.buyer_id, it.key)][1] not in ("", hashes[id(it.data)])
           for it in items if (it.buyer_id, it.key) in found):
        raise BatchRefused("an Idempotency-Key was used for a different order")
    news: list[_NewOrder] = []
    for it in items:
        if (it.buyer_id, it.key) not in found:
            new = _NewOrder.start(it.buyer_id, it.data, it.key, hashes[id(it.data)])
            new.holds = it.holds
            news.append(new)
    if news:
        src = source.model_dump(exclude_none=True)
        async with atomic() as conn:
            skus = await _load_skus(sorted({x.sku_id for new in news for x in new.data.lines}), conn)
            ctxs = []
            for new in news:
                _check_skus(new.data, skus)
                ctxs.append(hooks.SourceContext(
                    buyer_id=new.buyer_id, source=src, conn=conn, holds=new.holds,
                    lines=[hooks.SourceLine(sku_id=x.sku_id, product_id=skus[x.sku_id].product_id,
                                            merchant_id=skus[x.sku_id].merchant_id, quantity=x.quantity,
                                            unit_price=skus[x.sku_id].price) for x in new.data.lines]))
            for new, result in zip(news, await resolve_many(ctxs, conn), strict=True):
                new.source = result
                await pricing.price_shipping(new, conn)
            await checkout_writer(conn).place_many(news, conn, skus)
            for new in news:
                if new.source.after_write is not None:
                    await new.source.after_write(new.id, conn)
            _schedule_cancel(news)
        metrics.ORDERS_PLACED.inc(len(news))
    placed = {(new.buyer_id, new.key): new.id for new in news}
    return [found[(it.buyer_id, it.key)][0] if (it.buyer_id, it.key) in found else placed[(it.buyer_id, it.key)]
            for it in items]


async def _run_rollbacks(fns: list) -> None:
    for fn in fns:
        try:
            await fn()
        except Exception:  # noqa: BLE001
            log.exception("source rollback hook failed")


@dataclass(frozen=True)
class _SkuRow:
    id: int
    price: int
    spec: str
    is_active: bool
    cold_chain: bool
    product_id: int
    product_name: str
    product_status: str
    image: str
    merchant_id: int
    merchant_status: str


def _sku_row(r: dict) -> _SkuRow:
    images = r["images"]
    if isinstance(images, (str, bytes)):
        images = orjson.loads(images or "[]")
    image = images[0] if isinstance(images, list) and images and isinstance(images[0], str) else ""
    return _SkuRow(id=int(r["id"]), price=int(r["price"]), spec=r["spec"], is_active=bool(r["is_active"]),
                   cold_chain=bool(r["cold_chain"]), product_id=int(r["product_id"]),
                   product_name=r["product_name"], product_status=r["product_status"], image=image[:300],
                   merchant_id=int(r["merchant_id"]), merchant_status=r["merchant_status"])


_SKU_COLUMNS = ('s."id", s."price", s."spec", s."is_active", s."cold_chain", s."product_id", '
                'p."name" AS product_name, p."status" AS product_status, p."images", p."merchant_id", '
                'm."status" AS merchant_status')
_SKU_JOINS = 'JOIN "products" p ON p."id" = s."product_id" JOIN "merchants" m ON m."id" = p."merchant_id"'
_SKUS_SQL = f'SELECT {_SKU_COLUMNS} FROM "skus" s {_SKU_JOINS} WHERE s."id" '


async def _load_skus(ids: list[int], conn: Any) -> dict[int, _SkuRow]:
    """The SKUs with what checkout needs of their product and merchant, in one query (plain SQL:
    building a two-join ORM query costs more CPU than the database spends on it)."""
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        rows = await conn.execute_query_dict(_SKUS_SQL + "= ANY($1::bigint[])", [ids])
    elif dialect == "sqlite":
        rows = await conn.execute_query_dict(_SKUS_SQL + "IN (" + ",".join("?" * len(ids)) + ")", ids)
    else:
        rows = [{"id": k.id, "price": k.price, "spec": k.spec, "is_active": k.is_active, "cold_chain": k.cold_chain,
                 "product_id": k.product_id, "product_name": k.product.name, "product_status": k.product.status,
                 "images": k.product.images, "merchant_id": k.product.merchant_id,
                 "merchant_status": k.product.merchant.status}
                for k in await Sku.filter(id__in=ids).using_db(conn).select_related("product", "product__merchant")]
    return {r.id: r for r in map(_sku_row, rows)}


def _check_skus(data: CheckoutIn, skus: dict[int, _SkuRow]) -> None:
    """Every line names an existing SKU that is on sale (422 / 409 naming the first bad line)."""
    for i, line in enumerate(data.lines):
        sku = skus.get(line.sku_id)
        if sku is None:
            raise ValidationFailed.field(f"lines.{i}.sku_id", "no such SKU")
        if not sku.is_active or sku.product_status != "on_sale" or sku.merchant_status != "active":
            raise Conflict("this product is not on sale", code=OrderCode.NOT_ON_SALE,
                           details=[{"field": f"lines.{i}.sku_id", "sku_id": sku.id}])


@dataclass
class _NewOrder:
    """What checkout writes, and (with what the database gave back) what it answers."""
    buyer_id: int
    data: CheckoutIn
    key: str | None
    rhash: str
    assisted_by: int | None
    source: hooks.SourceResult
    now: Any
    expires_at: Any
    order_no: str
    # Filled by the write: (sku, quantity, unit price, amount, commission bp) in request order.
    lines: list[tuple[_SkuRow, int, int, int, int]] = field(default_factory=list)
    goods: int = 0
    id: int = 0
    line_ids: dict[int, int] = field(default_factory=dict)  # sku_id -> order line id
    holds: dict = field(default_factory=dict)  # the source's holds (hooks.SourceContext.holds)
    # Filled by pricing.price_shipping: the address snapshot, freight and its split per merchant.
    address: dict | None = None
    shipping: int = 0
    shipping_split: list = field(default_factory=list)
    coupons: promotions.CouponPricing | None = None  # the coupon step's savings (None: no coupons)

    @classmethod
    def start(cls, buyer_id: int, data: CheckoutIn, key: str | None = None, rhash: str = "",
              assisted_by: int | None = None) -> "_NewOrder":
        now = clock.now()
        return cls(buyer_id=buyer_id, data=data, key=key, rhash=rhash, assisted_by=assisted_by,
                   source=hooks.SourceResult(), now=now, order_no=new_order_no(),
                   expires_at=now + timedelta(seconds=runtime.settings().order_unpaid_timeout_seconds))

    def address_doc(self) -> dict | None:
        """The address the order keeps: pricing's snapshot, else the one typed (a writer called alone)."""
        if self.address is not None:
            return self.address
        return self.data.address.model_dump() if self.data.address else None

    def unit_price(self, sku: _SkuRow) -> int:
        """The catalogue price, or the source's price when that is lower."""
        return min(self.source.unit_prices.get(sku.id, sku.price), sku.price)

    def priced_lines(self, skus: dict[int, _SkuRow]) -> list[promotions.PricedLine]:
        """The lines at their prices, for the coupon step."""
        return [promotions.PricedLine(sku_id=x.sku_id, product_id=skus[x.sku_id].product_id,
                                      merchant_id=skus[x.sku_id].merchant_id,
                                      amount=self.unit_price(skus[x.sku_id]) * x.quantity) for x in self.data.lines]

    @property
    def discount(self) -> int:
        return self.coupons.discount_fen if self.coupons else 0

    def line_discount(self, sku_id: int) -> tuple[int, int]:
        """(saving, platform-funded part) on the line of this SKU."""
        if self.coupons is None:
            return 0, 0
        return self.coupons.line_discount.get(sku_id, 0), self.coupons.line_platform.get(sku_id, 0)

    def check_coupon_prices(self) -> None:
        """The write priced the lines as the coupon step did (a price changed in between: 409, rolled back)."""
        if self.coupons and {sku.id: amount for sku, _, _, amount, _ in self.lines} != self.coupons.amounts:
            raise Conflict("a price changed while checking out; please try again", code=PromoCode.PRICE_CHANGED)

    def commission_bp(self, sku_id: int) -> int:
        return self.source.commission_bp_by_sku.get(sku_id, self.source.commission_bp)

    def price(self, skus: dict[int, _SkuRow]) -> None:
        """The lines at the catalogue price, or the source's price when that is lower."""
        for x in self.data.lines:
            sku = skus[x.sku_id]
            unit = self.unit_price(sku)
            self.lines.append((sku, x.quantity, unit, unit * x.quantity, self.commission_bp(sku.id)))
        self.goods = sum(line[3] for line in self.lines)

    def out(self) -> OrderOut:
        """The answer, built from values the database and the validated request gave (so not
        validated once more: model_construct)."""
        d = self.data
        return OrderOut.model_construct(
            id=self.id, order_no=self.order_no, buyer_id=self.buyer_id, status=S.PENDING_PAYMENT,
            fulfilment=d.fulfilment, station_id=d.station_id,
            address=self.address_doc(), goods_fen=self.goods, shipping_fen=self.shipping,
            shipping_split=self.shipping_split or None,
            discount_fen=self.discount, discounts=self.coupons.discounts if self.coupons else [],
            total_fen=self.goods + self.shipping - self.discount, paid_fen=0, refunded_fen=0, payment_method="",
            source=d.source.kind if d.source else "", live_session_id=self.source.live_session_id,
            assisted_by_id=self.assisted_by, note=d.note, created_at=self.now, expires_at=self.expires_at,
            paid_at=None, cancelled_at=None, cancel_reason="", completed_at=None,
            lines=[OrderLineOut.model_construct(
                id=self.line_ids[sku.id], merchant_id=sku.merchant_id, product_id=sku.product_id, sku_id=sku.id,
                product_name=sku.product_name, sku_spec=sku.spec, image=sku.image, unit_price=unit, quantity=qty,
                amount=amount, refunded_qty=0, refunded_fen=0, cold_chain=sku.cold_chain,
                discount_fen=self.line_discount(sku.id)[0])
                for sku, qty, unit, amount, _ in self.lines])


# PostgreSQL: a batch of checkouts (often of one) in one statement: one round trip, atomic by itself.
# `want` is every line (o: the order's place in the batch, n: the line's), `ord` every order.
# `sku` reads the SKUs with their product and merchant; the inventory's part (`locked`, `fit`: see
# server/inventory/service.py PG_CHECKOUT_LOCK_FIT) locks the sellable ones' rows in id order and
# says which lines fit. An order fits when every line does; one turned away although each of its
# lines would fit alone (`fits_alone`) is tried again alone.
# `o` writes the orders that fit (a taken Idempotency-Key writes nothing: ON CONFLICT), `res`
# (PG_CHECKOUT_RESERVE) takes the stock of exactly the orders written, and their lines, the stock
# journal rows of the lines (`sm`, PG_CHECKOUT_JOURNAL) and first events follow. Each line's
# price is the catalogue price, or the source's (price_cap) when lower, as _NewOrder.price does.
# NO KEY UPDATE is the lock the UPDATE takes itself (FOR UPDATE would also block the key-share
# locks of other tables' foreign-key checks on skus). Hot SKU rows stay locked only until this
# statement's own commit, and once for the whole batch.
_CHECKOUT_PG = f"""
WITH want AS (
  SELECT (e->>0)::int AS o, (e->>1)::bigint AS sku_id, (e->>2)::int AS q, (e->>3)::int AS price_cap,
    (e->>4)::int AS commission_bp, COALESCE((e->>5)::bigint, 0) AS discount,
    COALESCE((e->>6)::bigint, 0) AS platform_discount, n
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(e, n)
),
ord AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(o int, order_no text, buyer_id bigint, fulfilment text,
    station_id bigint, address jsonb, source text, live_session_id bigint, livestreamer_id bigint,
    assisted_by_id bigint, idempotency_key text, request_hash text, note text, created_at timestamptz,
    expires_at timestamptz, actor_id bigint, event jsonb, clear_cart bool, shipping_fen bigint, shipping_split jsonb,
    discount_fen bigint, discounts jsonb)
),
sku AS MATERIALIZED (
  SELECT {_SKU_COLUMNS},
    CASE WHEN jsonb_typeof(p."images" -> 0) = 'string' THEN left(p."images" ->> 0, 300) ELSE '' END AS image,
    s."is_active" AND p."status" = 'on_sale' AND m."status" = 'active' AS sellable
  FROM "skus" s {_SKU_JOINS} WHERE s."id" IN (SELECT sku_id FROM want)
),
{inventory.PG_CHECKOUT_LOCK_FIT.strip()},
line AS MATERIALIZED (
  SELECT w.*, f.fits, f.fits_alone, bool_and(f.fits) OVER (PARTITION BY w.o) AS order_fits,
    LEAST(COALESCE(w.price_cap, k."price"), k."price") AS unit_price
  FROM want w JOIN fit f USING (n) LEFT JOIN sku k ON k."id" = w.sku_id
),
o AS (
  INSERT INTO "orders" ("order_no", "buyer_id", "status", "fulfilment", "station_id", "address", "goods_fen",
    "shipping_fen", "total_fen", "paid_fen", "refunded_fen", "payment_method", "source", "live_session_id",
    "livestreamer_id", "assisted_by_id", "idempotency_key", "request_hash", "note", "created_at", "updated_at",
    "expires_at", "cancel_reason", "shipping_split", "discount_fen", "discounts")
  SELECT x.order_no, x.buyer_id, '{S.PENDING_PAYMENT}', x.fulfilment, x.station_id, x.address, g.goods,
    x.shipping_fen, g.goods + x.shipping_fen - COALESCE(x.discount_fen, 0), 0, 0, '', x.source, x.live_session_id,
    x.livestreamer_id, x.assisted_by_id, x.idempotency_key, x.request_hash, x.note, x.created_at, x.created_at,
    x.expires_at, '', x.shipping_split, COALESCE(x.discount_fen, 0), COALESCE(x.discounts, '[]'::jsonb)
  FROM ord x JOIN (SELECT o, sum(unit_price::bigint * q) AS goods FROM line GROUP BY o
                   HAVING bool_and(order_fits)) g USING (o)
  ORDER BY x.o
  ON CONFLICT DO NOTHING
  RETURNING "id", "order_no"
),
placed AS MATERIALIZED (
  SELECT x.o, o."id" AS order_id FROM o JOIN ord x USING (order_no)
),
{inventory.PG_CHECKOUT_RESERVE.strip()},
l AS (
  INSERT INTO "order_lines" ("order_id", "merchant_id", "product_id", "sku_id", "product_name", "sku_spec",
    "image", "unit_price", "quantity", "amount", "refunded_qty", "refunded_fen", "cold_chain", "commission_bp",
    "discount_fen", "platform_discount_fen")
  SELECT p.order_id, k."merchant_id", k."product_id", k."id", k.product_name, k."spec", k.image, w.unit_price,
    w.q, w.unit_price::bigint * w.q, 0, 0, k."cold_chain", w.commission_bp, w.discount, w.platform_discount
  FROM placed p JOIN line w USING (o) JOIN sku k ON k."id" = w.sku_id ORDER BY w.n
  RETURNING "id", "order_id", "sku_id", "quantity"
),
{inventory.PG_CHECKOUT_JOURNAL.strip()},
e AS (
  INSERT INTO "order_events" ("order_id", "from_status", "to_status", "actor_id", "data", "created_at")
  SELECT p.order_id, '', '{S.PENDING_PAYMENT}', x.actor_id, x.event, x.created_at
  FROM placed p JOIN ord x USING (o)
),
c AS (
  DELETE FROM "cart_items" ci USING placed p JOIN ord x USING (o) JOIN want w USING (o)
  WHERE x.clear_cart AND ci."user_id" = x.buyer_id AND ci."sku_id" = w.sku_id
)
SELECT json_build_object(
  'lines', (SELECT json_agg(json_build_array(w.o, w.sku_id, w.q, w.commission_bp, w.unit_price, w.fits,
                                             w.fits_alone, w.order_fits, p.order_id, l."id", r."stock") ORDER BY w.n)
            FROM line w LEFT JOIN placed p USING (o) LEFT JOIN l ON l.order_id = p.order_id AND l."sku_id" = w.sku_id
              LEFT JOIN res r ON r."id" = w.sku_id),
  'skus', (SELECT json_agg(json_build_array(k."id", k."price", k."spec", k."is_active", k."cold_chain",
             k."product_id", k.product_name, k.product_status, k.image, k."merchant_id", k.merchant_status))
           FROM sku k))::text
"""


async def _checkout_rows(news: list[_NewOrder], conn: Any) -> dict:
    """Run _CHECKOUT_PG for a batch of orders. In and out as JSON: two documents instead of
    twenty-odd arrays, and one value back instead of a row of twenty columns per line."""
    lines, orders = [], []
    for o, new in enumerate(news, 1):
        d, r = new.data, new.source
        source = d.source.kind if d.source else ""
        lines += [(o, x.sku_id, x.quantity, r.unit_prices.get(x.sku_id), new.commission_bp(x.sku_id),
                   *new.line_discount(x.sku_id)) for x in d.lines]
        orders.append({
            "o": o, "order_no": new.order_no, "buyer_id": new.buyer_id, "fulfilment": d.fulfilment,
            "station_id": d.station_id, "address": new.address_doc(), "source": source,
            "live_session_id": r.live_session_id, "livestreamer_id": r.livestreamer_id,
            "assisted_by_id": new.assisted_by, "idempotency_key": new.key, "request_hash": new.rhash, "note": d.note,
            "created_at": new.now, "expires_at": new.expires_at, "actor_id": new.assisted_by or new.buyer_id,
            "event": {"assisted": bool(new.assisted_by), "source": source}, "clear_cart": d.clear_cart,
            "shipping_fen": new.shipping, "shipping_split": new.shipping_split or None,
            "discount_fen": new.discount, "discounts": new.coupons.discounts if new.coupons else []})
    _, rows = await conn.execute_query(_CHECKOUT_PG, [orjson.dumps(lines).decode(), orjson.dumps(orders).decode()])
    return orjson.loads(rows[0][0])


def _outcomes(news: list[_NewOrder], written: dict) -> list[AppError | IntegrityError | str | None]:
    """What _CHECKOUT_PG did with each order: None when written (new filled with its lines, prices
    and ids), else why not: no such SKU (422), not on sale, not enough stock (409, naming the SKU),
    its Idempotency-Key taken (IntegrityError), or ALONE: turned away by the batch's cautious count
    of stock, to be tried again alone."""
    skus = {k[0]: _SkuRow(*k) for k in written["skus"] or ()}
    mine: dict[int, list[list]] = {}
    for line in written["lines"]:
        mine.setdefault(line[0], []).append(line)
    out: list[AppError | IntegrityError | str | None] = []
    for o, new in enumerate(news, 1):
        lines = mine[o]
        if lines[0][8] is None:
            out.append(_refusal(new, lines, skus))
            continue
        for _, sku_id, qty, bp, unit, _, _, _, order_id, line_id, _ in lines:
            new.id = order_id
            new.lines.append((skus[sku_id], qty, unit, unit * qty, bp))
            new.line_ids[sku_id] = line_id
        new.goods = sum(line[3] for line in new.lines)
        out.append(None)
    inventory.invalidate_products({skus[line[1]].product_id for line in written["lines"] if line[10] == 0})
    return out


ALONE = "alone"


def _refusal(new: _NewOrder, lines: list[list], skus: dict[int, _SkuRow]) -> AppError | IntegrityError | str:
    """Why _CHECKOUT_PG did not write an order (its lines as _outcomes has them)."""
    try:
        _check_skus(new.data, skus)
    except AppError as exc:
        return exc
    if not lines[0][7]:  # the order did not fit
        if all(line[6] for line in lines):  # though each line alone would
            return ALONE
        return StockRefused.out_of_stock(min(line[1] for line in lines if not line[5]))
    return IntegrityError("the order was not written: its Idempotency-Key is taken")


async def _write_alone(new: _NewOrder, conn: Any) -> None:
    """_CHECKOUT_PG for this order alone (exact: no earlier order of a batch counted); raises why not."""
    [refused] = _outcomes([new], await _checkout_rows([new], conn))
    if refused is not None:
        raise refused


def _schedule_cancel(news: list[_NewOrder]) -> None:
    """The deferred jobs that cancel the orders still unpaid when they expire."""
    enqueue_many("orders.cancel_unpaid", [((new.id,), kr.key("job", f"orders.cancel:{new.id}")) for new in news],
                 defer=timedelta(seconds=runtime.settings().order_unpaid_timeout_seconds))


async def _checkout(new: _NewOrder, rollback_hooks: list) -> None:
    """Write the order (filling new), its stock reserved, or raise why not."""
    data = new.data
    if data.fulfilment == "pickup" and not await _pickup_station_ok(data.station_id):
        raise ValidationFailed.field("station_id", "no active pickup station with this id")
    if kdb.dialect() == "postgres" and data.source is None and not data.coupon_ids:
        await pricing.price_shipping(new)
        await _OrderQueue.current().place(new)
        return
    # A source hook takes its quota on the checkout's transaction; SQLite writes through the ORM.
    async with atomic() as conn:
        skus = await _load_skus([x.sku_id for x in data.lines], conn)
        _check_skus(data, skus)
        if data.source is not None:
            resolve = hooks.resolver(data.source.kind)
            if resolve is None:
                raise ValidationFailed.field("source.kind", "unknown source")
            ctx = hooks.SourceContext(
                buyer_id=new.buyer_id, source=data.source.model_dump(exclude_none=True), conn=conn,
                assisted_by=new.assisted_by, on_rollback=rollback_hooks, holds=new.holds,
                lines=[hooks.SourceLine(sku_id=x.sku_id, product_id=skus[x.sku_id].product_id,
                                        merchant_id=skus[x.sku_id].merchant_id, quantity=x.quantity,
                                        unit_price=skus[x.sku_id].price) for x in data.lines])
            new.source = await resolve(ctx)
        await pricing.price_shipping(new, conn)
        if data.coupon_ids:  # the coupon step: after the goods and freight are priced, before the write
            new.coupons = await promotions.price_coupons(conn, new.buyer_id, list(data.coupon_ids),
                                                         new.priced_lines(skus))
        await checkout_writer(conn).place(new, conn, skus)
        if new.coupons is not None:  # spent after the stock write: stock, then coupons, in every path
            new.check_coupon_prices()
            await promotions.spend(conn, new.buyer_id, new.coupons, new.id)
        if new.source.after_write is not None:  # the source's own rows, same transaction (hooks.py)
            await new.source.after_write(new.id, conn)
        _schedule_cancel([new])


# ---- the checkout write: one interface, a PostgreSQL and an ORM implementation side by side --------
# Both write one order with its lines, first event and stock reservation (journaled) in the caller's
# transaction, or raise why not (422 no such SKU, 409 not_on_sale / out_of_stock, IntegrityError for a
# taken Idempotency-Key). One behaviour table (tests/inventory/test_hot_writes.py) runs against both.
class _PgCheckout:
    """PostgreSQL: _CHECKOUT_PG for this order alone (it checks and prices the SKUs itself). Batches
    of orders without a source go through _OrderQueue, the same statement."""
    name = "postgres"

    async def place(self, new: _NewOrder, conn: Any, skus: dict[int, _SkuRow] | None = None) -> None:
        await _write_alone(new, conn)

    async def place_many(self, news: list[_NewOrder], conn: Any, skus: dict[int, _SkuRow] | None = None) -> None:
        """Every order of the batch, in one statement, or raise (the caller rolls the batch back)."""
        for refused in _outcomes(news, await _checkout_rows(news, conn)):
            if refused is ALONE:
                raise BatchRefused("the batch's cautious count of stock turned an order away")
            if refused is not None:
                raise refused


class _OrmCheckout:
    """The ORM (SQLite, the embedded default; works on PostgreSQL too, which the table checks)."""
    name = "orm"

    async def place(self, new: _NewOrder, conn: Any, skus: dict[int, _SkuRow] | None = None) -> None:
        if skus is None:
            skus = await _load_skus([x.sku_id for x in new.data.lines], conn)
        _check_skus(new.data, skus)
        new.price(skus)
        await _write_order_orm(new, conn)

    async def place_many(self, news: list[_NewOrder], conn: Any, skus: dict[int, _SkuRow] | None = None) -> None:
        """Every order of the batch, one after another, or raise (the caller rolls the batch back)."""
        for new in news:
            await self.place(new, conn, skus)


CHECKOUT_WRITERS = {"postgres": _PgCheckout(), "orm": _OrmCheckout()}


def checkout_writer(conn: Any) -> _PgCheckout | _OrmCheckout:
    """The checkout write for this connection's database."""
    return CHECKOUT_WRITERS["postgres" if conn.capabilities.dialect == "postgres" else "orm"]


class _OrderQueue:
    """Group commit (合并下单) for checkouts without a source on PostgreSQL: the orders that reach
    this process while the database writes one batch are written together by the next, in one
    _CHECKOUT_PG. Hot SKU rows (a whole village buying the same vinegar) are then locked, taken and
    committed once a batch instead of once an order, and one round trip serves the batch. An idle
    server writes an order at once, as a batch of one (the orders of one event-loop turn go together)."""
    MAX_BATCH = 100

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.waiting: list[tuple[_NewOrder, asyncio.Future]] = []
        self.writing = False

    @classmethod
    def current(cls) -> "_OrderQueue":
        extras = runtime.get().extras
        loop = asyncio.get_running_loop()
        q = extras.get("order_queue")
        if q is None or q.loop is not loop:
            q = extras["order_queue"] = cls(loop)
        return q

    async def place(self, new: _NewOrder) -> None:
        fut = self.loop.create_future()
        self.waiting.append((new, fut))
        if not self.writing:
            self.writing = True
            asyncio.ensure_future(self._drain())  # its first step runs after this loop turn's callbacks
        refused = await fut
        if refused is ALONE:
            await _write_alone(new, Tortoise.get_connection("default"))
            _schedule_cancel([new])
        elif refused is not None:
            raise refused

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:self.MAX_BATCH], self.waiting[self.MAX_BATCH:]
                news = [new for new, _ in batch]
                try:
                    written = await _checkout_rows(news, Tortoise.get_connection("default"))
                except Exception as exc:  # noqa: BLE001 - nothing was written: alone, each gets its own answer
                    outcomes: list = [exc] if len(batch) == 1 else [ALONE] * len(batch)
                else:
                    try:
                        outcomes = _outcomes(news, written)
                    except Exception as exc:  # noqa: BLE001 - written, but not answerable: never again
                        log.exception("checkout batch written but not read back")
                        outcomes = [exc] * len(batch)
                # Also when a buyer has gone (a cancelled request): the order exists.
                _schedule_cancel([new for new, out in zip(news, outcomes) if out is None])
                for (_, fut), out in zip(batch, outcomes):
                    if not fut.done():
                        fut.set_result(out)
        finally:
            self.writing = False


async def _write_order_orm(new: _NewOrder, conn: Any) -> None:
    """The same write through the ORM (SQLite, the embedded default), in the caller's transaction."""
    d = new.data
    order = await Order.create(
        order_no=new.order_no, buyer_id=new.buyer_id, status=S.PENDING_PAYMENT, fulfilment=d.fulfilment,
        station_id=d.station_id, address=new.address_doc(), goods_fen=new.goods, shipping_fen=new.shipping,
        shipping_split=new.shipping_split or None, discount_fen=new.discount,
        discounts=new.coupons.discounts if new.coupons else [], total_fen=new.goods + new.shipping - new.discount,
        source=d.source.kind if d.source else "",
        live_session_id=new.source.live_session_id, livestreamer_id=new.source.livestreamer_id,
        assisted_by_id=new.assisted_by, idempotency_key=new.key, request_hash=new.rhash, note=d.note,
        created_at=new.now, expires_at=new.expires_at, using_db=conn)
    await OrderLine.bulk_create([
        OrderLine(order_id=order.id, merchant_id=sku.merchant_id, product_id=sku.product_id, sku_id=sku.id,
                  product_name=sku.product_name, sku_spec=sku.spec, image=sku.image, unit_price=unit,
                  quantity=qty, amount=amount, cold_chain=sku.cold_chain, commission_bp=bp,
                  discount_fen=new.line_discount(sku.id)[0], platform_discount_fen=new.line_discount(sku.id)[1])
        for sku, qty, unit, amount, bp in new.lines], using_db=conn)
    await OrderEvent.create(order_id=order.id, from_status="", to_status=S.PENDING_PAYMENT,
                            actor_id=new.assisted_by or new.buyer_id,
                            data={"assisted": bool(new.assisted_by), "source": order.source}, using_db=conn)
    if d.clear_cart:
        await CartItem.filter(user_id=new.buyer_id, sku_id__in=[sku.id for sku, *_ in new.lines]).using_db(
            conn).delete()
    new.id = order.id
    new.line_ids = dict(await OrderLine.filter(order_id=order.id).using_db(conn).values_list("sku_id", "id"))
    await inventory.reserve(conn, [inventory.Move(sku.id, q, "order_line", new.line_ids[sku.id])
                                   for sku, q, *_ in new.lines], actor_id=new.assisted_by or new.buyer_id)


# ---- cancellation ----------------------------------------------------------------------------
async def cancel_unpaid(order_id: int, *, reason: str, actor_id: int | None = None) -> bool:
    """Cancel an unpaid order and give its stock (and live quota) back; False if it was not unpaid."""
    async with atomic() as conn:
        try:
            await transition(order_id, [S.PENDING_PAYMENT], S.CANCELLED, conn=conn, actor_id=actor_id,
                             cancelled_at=clock.now(), cancel_reason=reason[:64])
        except Conflict:
            return False
        order = await Order.get(id=order_id, using_db=conn)
        lines = await OrderLine.filter(order_id=order_id).using_db(conn).values_list("id", "sku_id", "quantity")
        await inventory.release(conn, [inventory.Move(sku, q, "order_line", line) for line, sku, q in lines],
                                StockReason.CANCEL, actor_id=actor_id)
        if order.discount_fen:  # its coupons go back to the buyer
            await promotions.release_for_order(conn, order_id, "cancel")
        rel = hooks.release(order.source) if order.source else None
        if rel is not None:
            await rel(hooks.ReleasedOrder(order_id=order.id, buyer_id=order.buyer_id, source=order.source,
                                          live_session_id=order.live_session_id,
                                          lines=[(sku, q) for _, sku, q in lines]), conn)
        # An open prepay order at WeChat is closed so the buyer cannot pay it any more.
        if await Payment.filter(order_id=order_id, status="created").using_db(conn).exists():
            enqueue("payments.close", order_id, job_id=kr.key("job", f"payments.close:{order_id}"))
    return True


async def cancel_by_buyer(buyer_id: int, order_id: int, reason: str = "") -> OrderOut:
    """The buyer cancels their unpaid order (another buyer's order is a 404)."""
    o = await Order.get_or_none(id=order_id, buyer_id=buyer_id).only("id", "status")
    if o is None:
        raise NotFound("order not found")
    if not await cancel_unpaid(order_id, reason="buyer" + (f": {reason}" if reason else ""), actor_id=buyer_id):
        current = await Order.get(id=order_id).only("status")
        raise Conflict(f"the order is {current.status}; only an unpaid order can be cancelled",
                       code=KitCode.INVALID_TRANSITION)
    return await order_out(order_id)


async def due_unpaid(limit: int = 500) -> list[int]:
    """Unpaid orders past their expiry (the sweeper re-enqueues their cancel job)."""
    return await (Order.filter(status=S.PENDING_PAYMENT, expires_at__lt=clock.now())
                  .order_by("id").limit(limit).values_list("id", flat=True))


# ---- views -----------------------------------------------------------------------------------
async def my_order(buyer_id: int, order_id: int) -> OrderOut:
    """One of the buyer's orders; anyone else's is a 404."""
    if not await Order.filter(id=order_id, buyer_id=buyer_id).exists():
        raise NotFound("order not found")
    return await order_out(order_id)


async def my_orders(buyer_id: int, q: OrderListQuery) -> OrderPage:
    """The buyer's orders, newest first."""
    qs = Order.filter(buyer_id=buyer_id)
    if q.status:
        qs = qs.filter(status=q.status)
    return await _page(qs, q.limit, q.cursor)


async def merchant_orders(merchant_ids: Iterable[int], q: OrderListQuery) -> OrderPage:
    """Orders containing the merchant's goods, each with only the merchant's lines."""
    mids = sorted(set(merchant_ids))
    if not mids:
        return OrderPage(items=[])
    qs = Order.filter(id__in=Subquery(OrderLine.filter(merchant_id__in=mids).values("order_id")))
    if q.status:
        qs = qs.filter(status=q.status)
    page = await _page(qs, q.limit, q.cursor, line_filter={"merchant_id__in": mids})
    for item in page.items:  # only what the merchant may see of someone else's order
        item.address = None
        item.goods_fen = sum(x.amount for x in item.lines)
        item.shipping_split = [x for x in item.shipping_split or () if x["merchant_id"] in mids] or None
        item.shipping_fen = sum(x["fen"] for x in item.shipping_split or ())
        item.discount_fen = sum(x.discount_fen for x in item.lines)
        item.total_fen = item.paid_fen = item.goods_fen + item.shipping_fen - item.discount_fen
        item.discounts = [d for d in item.discounts if d.get("merchant_id") in mids]
        item.refunded_fen = sum(x.refunded_fen for x in item.lines)
        item.buyer_id = 0
        item.note = ""
    return page


async def merchant_order(merchant_ids: Iterable[int], order_id: int) -> OrderOut:
    mids = sorted(set(merchant_ids))
    if not mids or not await OrderLine.filter(order_id=order_id, merchant_id__in=mids).exists():
        raise NotFound("order not found")
    page = await merchant_orders(mids, OrderListQuery(cursor=encode_cursor([order_id + 1]), limit=1))
    if not page.items or page.items[0].id != order_id:
        raise NotFound("order not found")
    return page.items[0]


async def search_orders(q: AdminOrderQuery) -> OrderPage:
    """Admin search by number, buyer, merchant, station and status."""
    qs = Order.all()
    if q.status:
        qs = qs.filter(status=q.status)
    if q.order_no:
        qs = qs.filter(order_no=q.order_no)
    if q.buyer_id:
        qs = qs.filter(buyer_id=q.buyer_id)
    if q.station_id:
        qs = qs.filter(station_id=q.station_id)
    if q.merchant_id:
        qs = qs.filter(id__in=Subquery(OrderLine.filter(merchant_id=q.merchant_id).values("order_id")))
    return await _page(qs, q.limit, q.cursor)


async def order_events(order_id: int) -> list[OrderEventOut]:
    return [OrderEventOut.model_validate(e) for e in
            await OrderEvent.filter(order_id=order_id).order_by("id")]
