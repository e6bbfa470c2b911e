"""Orders (订单): checkout with atomic stock reservation, guarded status transitions, cancellation
of unpaid orders (stock back exactly once), and the buyer's, merchant's and admin's views."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Subquery

from server.kit import clock, runtime
from server.kit import db as kdb
from server.kit import redis as kr
from server.kit.db import atomic, on_commit
from server.kit.errors import Conflict, NotFound, ValidationFailed
from server.kit.jobs import enqueue
from server.kit.schemas import decode_cursor, encode_cursor
from server.models.cart import CartItem
from server.models.catalog import Sku
from server.models.orders import Order, OrderEvent, OrderLine, OrderStatus
from server.models.payments import Payment
from server.models.stations import Station
from server.orders import hooks
from server.orders.schemas import (AdminOrderQuery, CheckoutIn, OrderEventOut, OrderLineOut, OrderListQuery,
                                   OrderOut, OrderPage)

log = logging.getLogger("kazuo.orders")
S = OrderStatus
# Orders that hold money (a refund can be asked for).
PAID_STATES = (S.PAID, S.IN_FULFILMENT, S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.COMPLETED)


def new_order_no() -> str:
    """Our order number, also WeChat Pay's out_trade_no (≤32 chars of [0-9A-Za-z])."""
    return f"KZ{clock.now():%y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


async def transition(order_id: int, expected: Iterable[str], new: str, *, conn: Any,
                     actor_id: int | None = None, **fields: Any) -> None:
    """Move an order to `new` only from one of `expected` (a guarded update); 409 invalid_transition otherwise."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    if new not in S.ALL:
        raise ValueError(f"unknown order status {new!r}")
    prev = expected[0] if len(expected) == 1 else None
    if prev is None:  # for the event log only: the guard below is what protects the change
        rows = await Order.filter(id=order_id).using_db(conn).values_list("status", flat=True)
        prev = rows[0] if rows and rows[0] in expected else "|".join(expected)[:128]
    n = await Order.filter(id=order_id, status__in=expected).using_db(conn).update(
        status=new, updated_at=clock.now(), **fields)
    if n == 0:
        current = await Order.filter(id=order_id).using_db(conn).values_list("status", flat=True)
        if not current:
            raise NotFound("order not found")
        raise Conflict(f"the order is {current[0]}; it cannot become {new}", code="invalid_transition",
                       details={"order_id": order_id, "status": current[0], "expected": expected, "new": new})
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()
            if isinstance(v, (str, int, float, bool)) or hasattr(v, "isoformat")}
    await OrderEvent.create(order_id=order_id, from_status=prev, to_status=new,
                            actor_id=actor_id, data=data, using_db=conn)


# ---- stock -----------------------------------------------------------------------------------
def _invalidate_products(product_ids: set[int]) -> None:
    """A SKU crossed zero (sold out / back): the catalogue's cached pages must show it."""
    if not product_ids:
        return

    async def run():
        try:
            from server.catalog.cache import invalidate_product
        except ImportError:  # the catalogue cache is optional for the orders capability
            return
        for pid in sorted(product_ids):
            try:
                await invalidate_product(pid)
            except Exception:  # noqa: BLE001 - a stale cache must not fail a committed order
                log.warning("catalog invalidation failed", extra={"product_id": pid})

    on_commit(run)


_RESERVE_SQLITE = ('UPDATE "skus" SET "stock" = "stock" - ?, "reserved" = "reserved" + ? '
                   'WHERE "id" = ? AND "stock" >= ? AND "is_active" RETURNING "id", "stock", "product_id"')


async def reserve_stock(lines: list[tuple[int, int]], conn: Any) -> None:
    """Take (sku_id, qty) from sellable stock into reserved, in SKU id order; 409 out_of_stock.
    (PostgreSQL checkouts reserve inside their one statement, _CHECKOUT_PG.)"""
    lines = sorted(lines)
    rows = []
    for sku_id, qty in lines:
        if conn.capabilities.dialect == "sqlite":
            got = await conn.execute_query_dict(_RESERVE_SQLITE, [qty, qty, sku_id, qty])
        elif await Sku.filter(id=sku_id, stock__gte=qty, is_active=True).using_db(conn).update(
                stock=F("stock") - qty, reserved=F("reserved") + qty):
            got = await Sku.filter(id=sku_id).using_db(conn).values("id", "stock", "product_id")
        else:
            got = []
        if not got:
            raise Conflict("not enough stock", code="out_of_stock", details={"sku_id": sku_id})
        rows += got
    _invalidate_products({int(r["product_id"]) for r in rows if int(r["stock"]) == 0})


async def release_stock(lines: list[tuple[int, int]], conn: Any, *, from_reserved: bool = True) -> None:
    """Give (sku_id, qty) back to sellable stock (from reserved unless the goods came back later)."""
    back: set[int] = set()
    for sku_id, qty in sorted(lines):
        if qty <= 0:
            continue
        upd = {"stock": F("stock") + qty}
        if from_reserved:
            upd["reserved"] = F("reserved") - qty
        await Sku.filter(id=sku_id).using_db(conn).update(**upd)
        row = await Sku.filter(id=sku_id).using_db(conn).values("stock", "product_id")
        if row and row[0]["stock"] == qty:  # it was sold out until now
            back.add(row[0]["product_id"])
    _invalidate_products(back)


# ---- output ----------------------------------------------------------------------------------
def _line_out(line: OrderLine) -> OrderLineOut:
    return OrderLineOut(id=line.id, merchant_id=line.merchant_id, product_id=line.product_id,
                        sku_id=line.sku_id, product_name=line.product_name, sku_spec=line.sku_spec,
                        image=line.image, unit_price=line.unit_price, quantity=line.quantity,
                        amount=line.amount, refunded_qty=line.refunded_qty, refunded_fen=line.refunded_fen,
                        cold_chain=line.cold_chain)


def _order_out(o: Order, lines: list[OrderLine]) -> OrderOut:
    return OrderOut(id=o.id, order_no=o.order_no, buyer_id=o.buyer_id, status=o.status, fulfilment=o.fulfilment,
                    station_id=o.station_id, address=o.address, goods_fen=o.goods_fen,
                    shipping_fen=o.shipping_fen, total_fen=o.total_fen, paid_fen=o.paid_fen,
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
    field). data: anything with fulfilment, station_id and address (a checkout, a live buy)."""
    if data.fulfilment == "pickup":
        if data.station_id is None:
            raise ValidationFailed.field("station_id", "required for pickup")
        if data.address is not None:
            raise ValidationFailed.field("address", "not used for pickup")
    else:
        if data.address is None:
            raise ValidationFailed.field("address", "required for delivery")
        if data.station_id is not None:
            raise ValidationFailed.field("station_id", "not used for delivery")


_station_ok: dict[int, tuple[bool, float]] = {}
STATION_TTL = 30.0  # a suspended station stops taking pickup orders within this many seconds


async def _pickup_station_ok(station_id: int, conn: Any) -> bool:
    """Whether the station takes pickup orders; remembered briefly in-process (stations rarely change)."""
    import time

    hit = _station_ok.get(station_id)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    rows = await Station.filter(id=station_id).using_db(conn).values("status", "services")
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
        raise Conflict("this Idempotency-Key was used for a different order", code="idempotency_key_reused")
    return await order_out(rows[0][0])


async def create_order(buyer_id: int, data: CheckoutIn, *, idempotency_key: str | None,
                       assisted_by: int | None = None) -> OrderOut:
    """Check out: validate, reserve stock atomically, record the order; a retried key returns the same order."""
    s = runtime.settings()
    _check_shape(data)
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 64 and idempotency_key.isprintable()):
        raise ValidationFailed.field("Idempotency-Key", "1-64 printable characters")
    # Redis first: when it is down the checkout stops here with a 503, before touching stock.
    await kr.hit_limit("checkout", str(buyer_id), s.checkout_rate_per_minute, 60,
                       message="too many checkouts, wait a minute")
    # Only a keyed request can be compared with an earlier one.
    rhash = _request_hash(data, assisted_by) if idempotency_key else ""
    if idempotency_key:
        found = await _existing(buyer_id, idempotency_key, rhash)
        if found is not None:
            return found
    rollback_hooks: list = []
    try:
        return await _checkout_tx(buyer_id, data, idempotency_key, assisted_by, rhash, rollback_hooks)
    except IntegrityError:
        await _run_rollbacks(rollback_hooks)
        # Two requests with one Idempotency-Key raced: the loser returns the winner's order.
        if idempotency_key:
            found = await _existing(buyer_id, idempotency_key, rhash)
            if found is not None:
                return found
        raise
    except BaseException:
        await _run_rollbacks(rollback_hooks)
        raise


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
            raise Conflict("this product is not on sale", code="not_on_sale",
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

    def commission_bp(self, sku_id: int) -> int:
        return self.source.commission_bp_by_sku.get(sku_id, self.source.commission_bp)

    def price(self, skus: dict[int, _SkuRow]) -> None:
        """The lines at the catalogue price, or the source's price when that is lower."""
        for x in self.data.lines:
            sku = skus[x.sku_id]
            unit = min(self.source.unit_prices.get(sku.id, sku.price), sku.price)
            self.lines.append((sku, x.quantity, unit, unit * x.quantity, self.commission_bp(sku.id)))
        self.goods = sum(line[3] for line in self.lines)

    def out(self) -> OrderOut:
        d = self.data
        return OrderOut(
            id=self.id, order_no=self.order_no, buyer_id=self.buyer_id, status=S.PENDING_PAYMENT,
            fulfilment=d.fulfilment, station_id=d.station_id,
            address=d.address.model_dump() if d.address else None, goods_fen=self.goods, shipping_fen=0,
            total_fen=self.goods, paid_fen=0, refunded_fen=0, payment_method="",
            source=d.source.kind if d.source else "", live_session_id=self.source.live_session_id,
            assisted_by_id=self.assisted_by, note=d.note, created_at=self.now, expires_at=self.expires_at,
            paid_at=None, cancelled_at=None, cancel_reason="", completed_at=None,
            lines=[OrderLineOut(id=self.line_ids[sku.id], merchant_id=sku.merchant_id, product_id=sku.product_id,
                                sku_id=sku.id, product_name=sku.product_name, sku_spec=sku.spec, image=sku.image,
                                unit_price=unit, quantity=qty, amount=amount, refunded_qty=0, refunded_fen=0,
                                cold_chain=sku.cold_chain)
                   for sku, qty, unit, amount, _ in self.lines])


async def _checkout_tx(buyer_id: int, data: CheckoutIn, key: str | None, assisted_by: int | None,
                       rhash: str, rollback_hooks: list) -> OrderOut:
    s = runtime.settings()
    now = clock.now()
    new = _NewOrder(buyer_id=buyer_id, data=data, key=key, rhash=rhash, assisted_by=assisted_by,
                    source=hooks.SourceResult(), now=now, order_no=new_order_no(),
                    expires_at=now + timedelta(seconds=s.order_unpaid_timeout_seconds))
    postgres = kdb.dialect() == "postgres"
    # On PostgreSQL a checkout without a source hook is one statement that loads, checks and writes,
    # atomic and committed by itself; a source hook takes its quota on the transaction, so it needs one.
    async with atomic(one_statement=postgres and data.source is None) as conn:
        if data.fulfilment == "pickup" and not await _pickup_station_ok(data.station_id, conn):
            raise ValidationFailed.field("station_id", "no active pickup station with this id")
        if data.source is not None or not postgres:
            skus = await _load_skus([x.sku_id for x in data.lines], conn)
            _check_skus(data, skus)
        if data.source is not None:
            resolve = hooks.resolver(data.source.kind)
            if resolve is None:
                raise ValidationFailed.field("source.kind", "unknown source")
            ctx = hooks.SourceContext(
                buyer_id=buyer_id, source=data.source.model_dump(exclude_none=True), conn=conn,
                assisted_by=assisted_by, on_rollback=rollback_hooks,
                lines=[hooks.SourceLine(sku_id=x.sku_id, product_id=skus[x.sku_id].product_id,
                                        merchant_id=skus[x.sku_id].merchant_id, quantity=x.quantity,
                                        unit_price=skus[x.sku_id].price) for x in data.lines])
            new.source = await resolve(ctx)
        if postgres:
            await _write_order_pg(new, conn)
        else:
            new.price(skus)
            await _write_order_orm(new, conn)
        enqueue("orders.cancel_unpaid", new.id, job_id=kr.key("job", f"orders.cancel:{new.id}"),
                defer=timedelta(seconds=s.order_unpaid_timeout_seconds))
    return new.out()


# PostgreSQL: the whole checkout in one statement (one round trip, atomic by itself).
# `sku` reads the SKUs with their product and merchant, and the price of each line: the catalogue
# price, or the source's ($3) when lower (as _NewOrder.price). Nothing is locked or written unless
# every SKU exists and is on sale. `locked` then takes the SKU rows in id order (ORDER BY runs
# before FOR NO KEY UPDATE), so concurrent multi-line checkouts never deadlock, and sees their
# newest versions; stock moves only when every line has enough, and the order, its lines and its
# first event exist only when the stock moved.
# NO KEY UPDATE (the lock an UPDATE takes itself), not FOR UPDATE: the order lines' foreign-key
# checks take KEY SHARE on the same SKU rows. Hot SKU rows stay locked only until this statement's
# own commit: no round trip to the application (and its busy event loop) in between.
_CHECKOUT_PG = f"""
WITH want AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[]) WITH ORDINALITY
    AS w(sku_id, q, price_cap, commission_bp, n)
),
sku AS MATERIALIZED (
  SELECT {_SKU_COLUMNS}, w.q, w.n, w.commission_bp,
    LEAST(COALESCE(w.price_cap, s."price"), s."price") AS unit_price,
    CASE WHEN jsonb_typeof(p."images" -> 0) = 'string' THEN left(p."images" ->> 0, 300) ELSE '' END AS image,
    s."is_active" AND p."status" = 'on_sale' AND m."status" = 'active' AS sellable
  FROM want w JOIN "skus" s ON s."id" = w.sku_id {_SKU_JOINS}
),
locked AS MATERIALIZED (
  SELECT s."id", s."stock" >= w.q AND s."is_active" AS enough
  FROM "skus" s JOIN want w ON w.sku_id = s."id"
  WHERE (SELECT count(*) = cardinality($1::bigint[]) AND bool_and(sellable) FROM sku)
  ORDER BY s."id" FOR NO KEY UPDATE OF s
),
res AS (
  UPDATE "skus" s SET "stock" = s."stock" - w.q, "reserved" = s."reserved" + w.q FROM want w
  WHERE s."id" = w.sku_id AND s."stock" >= w.q AND s."is_active"
    AND (SELECT count(*) FILTER (WHERE enough) = cardinality($1::bigint[]) FROM locked)
  RETURNING s."id", s."stock"
),
o AS (
  INSERT INTO "orders" ("order_no", "buyer_id", "status", "fulfilment", "station_id", "address", "goods_fen",
    "shipping_fen", "total_fen", "paid_fen", "refunded_fen", "payment_method", "source", "live_session_id",
    "livestreamer_id", "assisted_by_id", "idempotency_key", "request_hash", "note", "created_at", "updated_at",
    "expires_at", "cancel_reason")
  SELECT $5, $6, '{S.PENDING_PAYMENT}', $7, $8, $9::jsonb, g.goods, 0, g.goods, 0, 0, '', $10, $11, $12, $13,
    $14, $15, $16, $17, $17, $18, ''
  FROM (SELECT sum(unit_price::bigint * q) AS goods FROM sku) g
  WHERE (SELECT count(*) FROM res) = cardinality($1::bigint[])
  RETURNING "id"
),
l AS (
  INSERT INTO "order_lines" ("order_id", "merchant_id", "product_id", "sku_id", "product_name", "sku_spec",
    "image", "unit_price", "quantity", "amount", "refunded_qty", "refunded_fen", "cold_chain", "commission_bp")
  SELECT o."id", k."merchant_id", k."product_id", k."id", k.product_name, k."spec", k.image, k.unit_price, k.q,
    k.unit_price::bigint * k.q, 0, 0, k."cold_chain", k.commission_bp FROM o, sku k ORDER BY k.n
  RETURNING "id", "sku_id"
),
e AS (
  INSERT INTO "order_events" ("order_id", "from_status", "to_status", "actor_id", "data", "created_at")
  SELECT o."id", '', '{S.PENDING_PAYMENT}', $19, $20::jsonb, $17 FROM o
),
c AS (
  DELETE FROM "cart_items" WHERE $21 AND "user_id" = $6 AND "sku_id" = ANY($1::bigint[]) AND EXISTS (SELECT 1 FROM o)
)
SELECT k.*, (SELECT "id" FROM o) AS order_id, l."id" AS line_id, lk.enough, r."stock" AS stock_left
FROM sku k LEFT JOIN l ON l."sku_id" = k."id" LEFT JOIN locked lk ON lk."id" = k."id" LEFT JOIN res r ON r."id" = k."id"
ORDER BY k.n
"""


async def _write_order_pg(new: _NewOrder, conn: Any) -> None:
    """Check the SKUs, reserve the stock and record the order, its lines and its first event (and
    clear the cart) in _CHECKOUT_PG; fills new with the lines, their prices and the new ids."""
    d, r = new.data, new.source
    ids = [x.sku_id for x in d.lines]
    source = d.source.kind if d.source else ""
    rows = await conn.execute_query_dict(_CHECKOUT_PG, [
        ids, [x.quantity for x in d.lines], [r.unit_prices.get(i) for i in ids], [new.commission_bp(i) for i in ids],
        new.order_no, new.buyer_id, d.fulfilment, d.station_id,
        orjson.dumps(d.address.model_dump()).decode() if d.address else None, source, r.live_session_id,
        r.livestreamer_id, new.assisted_by, new.key, new.rhash, d.note, new.now, new.expires_at,
        new.assisted_by or new.buyer_id,
        orjson.dumps({"assisted": bool(new.assisted_by), "source": source}).decode(), d.clear_cart])
    skus = {row["id"]: _sku_row(row) for row in rows}
    _check_skus(d, skus)
    if rows[0]["order_id"] is None:
        short = [row["id"] for row in rows if not row["enough"]] or ids
        raise Conflict("not enough stock", code="out_of_stock", details={"sku_id": min(short)})
    new.id = rows[0]["order_id"]
    for row in rows:
        unit, qty = int(row["unit_price"]), int(row["q"])
        new.lines.append((skus[row["id"]], qty, unit, unit * qty, int(row["commission_bp"])))
        new.line_ids[row["id"]] = row["line_id"]
    new.goods = sum(line[3] for line in new.lines)
    _invalidate_products({int(row["product_id"]) for row in rows if row["stock_left"] == 0})


async def _write_order_orm(new: _NewOrder, conn: Any) -> None:
    """The same write through the ORM (SQLite, the embedded default), in the caller's transaction."""
    d = new.data
    await reserve_stock([(sku.id, q) for sku, q, *_ in new.lines], conn)
    order = await Order.create(
        order_no=new.order_no, buyer_id=new.buyer_id, status=S.PENDING_PAYMENT, fulfilment=d.fulfilment,
        station_id=d.station_id, address=d.address.model_dump() if d.address else None,
        goods_fen=new.goods, shipping_fen=0, total_fen=new.goods, source=d.source.kind if d.source else "",
        live_session_id=new.source.live_session_id, livestreamer_id=new.source.livestreamer_id,
        assisted_by_id=new.assisted_by, idempotency_key=new.key, request_hash=new.rhash, note=d.note,
        created_at=new.now, expires_at=new.expires_at, using_db=conn)
    await OrderLine.bulk_create([
        OrderLine(order_id=order.id, merchant_id=sku.merchant_id, product_id=sku.product_id, sku_id=sku.id,
                  product_name=sku.product_name, sku_spec=sku.spec, image=sku.image, unit_price=unit,
                  quantity=qty, amount=amount, cold_chain=sku.cold_chain, commission_bp=bp)
        for sku, qty, unit, amount, bp in new.lines], using_db=conn)
    await OrderEvent.create(order_id=order.id, from_status="", to_status=S.PENDING_PAYMENT,
                            actor_id=new.assisted_by or new.buyer_id,
                            data={"assisted": bool(new.assisted_by), "source": order.source}, using_db=conn)
    if d.clear_cart:
        await CartItem.filter(user_id=new.buyer_id, sku_id__in=[sku.id for sku, *_ in new.lines]).using_db(
            conn).delete()
    new.id = order.id
    new.line_ids = dict(await OrderLine.filter(order_id=order.id).using_db(conn).values_list("sku_id", "id"))


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
        lines = await OrderLine.filter(order_id=order_id).using_db(conn).values_list("sku_id", "quantity")
        await release_stock([(a, b) for a, b in lines], conn)
        rel = hooks.release(order.source) if order.source else None
        if rel is not None:
            await rel(hooks.ReleasedOrder(order_id=order.id, buyer_id=order.buyer_id, source=order.source,
                                          live_session_id=order.live_session_id,
                                          lines=[(a, b) for a, b in lines]), conn)
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
                       code="invalid_transition")
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
        item.goods_fen = item.total_fen = item.paid_fen = sum(x.amount for x in item.lines)
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
