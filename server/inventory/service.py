"""Inventory (库存): the one owner of every change to a SKU's sellable stock (`skus.stock`), its
reserved units (`skus.reserved`) and a live tie-in's quota (`live_tieins.remaining`/`quota`).

Every function here runs in the caller's transaction (conn), changes the counters with guarded
conditional updates one SKU at a time in SKU-id order (so two transactions never deadlock on them),
refuses with StockRefused when a guard finds too few units (the caller's transaction then rolls
back: nothing half-written), and writes one stock journal row (StockMove) per change with its reason
and reference. An AST test (tests/inventory/test_owner.py) fails when stock, reserved or a live
quota is written anywhere else.

The hot writes keep their speed: checkout's PostgreSQL statement embeds this module's SQL parts
(PG_CHECKOUT_LOCK_FIT, PG_CHECKOUT_RESERVE, PG_CHECKOUT_JOURNAL: still one statement, its journal
rows included), and the live quota take has a PostgreSQL and an ORM implementation side by side
(LIVE_TAKES), run by one behaviour table against both."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable

import orjson
from tortoise.expressions import F

from server.catalog import cache as catalog_cache
from server.catalog.schemas import MAX_STOCK
from server.inventory.errors import StockRefused
from server.inventory.schemas import StockMoveOut, StockMovesPage
from server.kit import clock
from server.kit.db import id_page, on_commit
from server.kit.errors import NotFound, ValidationFailed
from server.models.catalog import Sku
from server.models.inventory import StockMove
from server.models.inventory import StockReason as R
from server.models.live import LivePurchase, LiveTieIn

log = logging.getLogger("kazuo.inventory")


@dataclass(frozen=True)
class Move:
    """Units of one SKU moved for one reference (an order line, a parcel, an inbound line ...)."""
    sku_id: int
    qty: int
    ref_type: str = ""
    ref_id: int | None = None


def _per_sku(moves: Iterable[Move]) -> list[tuple[int, int]]:
    """(sku_id, units) summed per SKU, in SKU-id order: the order every guarded update runs in."""
    out: dict[int, int] = {}
    for m in moves:
        if m.qty > 0:
            out[m.sku_id] = out.get(m.sku_id, 0) + m.qty
    return sorted(out.items())


async def _journal(conn: Any, moves: Iterable[Move], reason: str, *, stock: int = 0, reserved: int = 0,
                   quota: int = 0, actor_id: int | None = None, note: str = "",
                   tiein_id: int | None = None) -> None:
    """One journal row per move; stock/reserved/quota are the signs (+1, -1, 0) of each delta."""
    now = clock.now()
    rows = [StockMove(sku_id=m.sku_id, reason=reason, d_stock=stock * m.qty, d_reserved=reserved * m.qty,
                      d_quota=quota * m.qty, tiein_id=tiein_id, ref_type=m.ref_type, ref_id=m.ref_id,
                      actor_id=actor_id, note=note[:200], created_at=now)
            for m in moves if m.qty > 0]
    if rows:
        await StockMove.bulk_create(rows, using_db=conn)


def invalidate_products(product_ids: set[int]) -> None:
    """A SKU crossed zero (sold out / back): the catalogue's cached pages must show it, after commit."""
    if not product_ids:
        return

    async def run():
        for pid in sorted(product_ids):
            try:
                await catalog_cache.invalidate_product(pid)
            except Exception:  # noqa: BLE001 - a stale cache must not fail a committed change
                log.warning("catalog invalidation failed", extra={"product_id": pid})

    on_commit(run)


async def _crossed_zero(conn: Any, per_sku: list[tuple[int, int]], *, added: bool) -> None:
    """Invalidate the products of SKUs whose sellable stock just reached zero (added=False) or
    came back from zero (added=True): one read for all of them."""
    if not per_sku:
        return
    qty = dict(per_sku)
    rows = await Sku.filter(id__in=list(qty)).using_db(conn).values("id", "stock", "product_id")
    invalidate_products({r["product_id"] for r in rows
                         if (r["stock"] == qty[r["id"]] if added else r["stock"] == 0)})


# ---- the shelf and the orders -------------------------------------------------------------------
_RESERVE_RETURNING = ('UPDATE "skus" SET "stock" = "stock" - ?, "reserved" = "reserved" + ? '
                      'WHERE "id" = ? AND "stock" >= ? AND "is_active" RETURNING "id", "stock", "product_id"')


async def reserve(conn: Any, moves: list[Move], *, actor_id: int | None = None) -> None:
    """Checkout: take units from sellable stock into reserved (only of an active SKU); StockRefused
    out_of_stock naming the first SKU short. (PostgreSQL checkouts reserve inside their one
    statement with PG_CHECKOUT_RESERVE.)"""
    per_sku = _per_sku(moves)
    zero: set[int] = set()
    for sku_id, qty in per_sku:
        if conn.capabilities.dialect == "sqlite":  # one round trip: the update answers what it left
            got = await conn.execute_query_dict(_RESERVE_RETURNING, [qty, qty, sku_id, qty])
        elif await Sku.filter(id=sku_id, stock__gte=qty, is_active=True).using_db(conn).update(
                stock=F("stock") - qty, reserved=F("reserved") + qty):
            got = await Sku.filter(id=sku_id).using_db(conn).values("id", "stock", "product_id")
        else:
            got = []
        if not got:
            raise StockRefused.out_of_stock(sku_id)
        zero |= {int(r["product_id"]) for r in got if int(r["stock"]) == 0}
    await _journal(conn, moves, R.CHECKOUT, stock=-1, reserved=1, actor_id=actor_id)
    invalidate_products(zero)


async def release(conn: Any, moves: list[Move], reason: str, *, actor_id: int | None = None) -> None:
    """Reserved units back to sellable stock (an unpaid order cancelled, a refund before the goods
    left, a task stopped or shrunk, a parcel taken apart). Under-reserved: StockRefused
    stock_inconsistent, whatever the path (the one rule; see server/inventory/__init__.py)."""
    per_sku = _per_sku(moves)
    for sku_id, qty in per_sku:
        if not await Sku.filter(id=sku_id, reserved__gte=qty).using_db(conn).update(
                reserved=F("reserved") - qty, stock=F("stock") + qty):
            raise StockRefused.inconsistent(sku_id, qty)
    await _journal(conn, moves, reason, stock=1, reserved=-1, actor_id=actor_id)
    await _crossed_zero(conn, per_sku, added=True)


async def ship(conn: Any, moves: list[Move], *, actor_id: int | None = None) -> None:
    """Goods leave the county warehouse: their reservation is consumed (on hand drops). Under-reserved:
    StockRefused stock_inconsistent."""
    for sku_id, qty in _per_sku(moves):
        if not await Sku.filter(id=sku_id, reserved__gte=qty).using_db(conn).update(reserved=F("reserved") - qty):
            raise StockRefused.inconsistent(sku_id, qty)
    await _journal(conn, moves, R.SHIP, reserved=-1, actor_id=actor_id)


async def restock(conn: Any, moves: list[Move], reason: str, *, actor_id: int | None = None) -> None:
    """Units arrive on the shelf: an inbound note received, a returned parcel back, a new SKU's
    first units (the goods are there: no cap)."""
    per_sku = _per_sku(moves)
    for sku_id, qty in per_sku:
        await Sku.filter(id=sku_id).using_db(conn).update(stock=F("stock") + qty)
    await _journal(conn, moves, reason, stock=1, actor_id=actor_id)
    await _crossed_zero(conn, per_sku, added=True)


async def adjust(conn: Any, sku_id: int, delta: int, *, actor_id: int, note: str = "") -> None:
    """A manual adjustment by an operator: never below zero (StockRefused out_of_stock), never past
    MAX_STOCK (422 naming `delta`); journaled with the operator."""
    if delta == 0:
        raise ValidationFailed.field("delta", "must not be zero")
    if delta < 0:
        if not await Sku.filter(id=sku_id, stock__gte=-delta).using_db(conn).update(stock=F("stock") + delta):
            raise StockRefused.out_of_stock(sku_id, "not that much stock left")
    elif not await Sku.filter(id=sku_id, stock__lte=MAX_STOCK - delta).using_db(conn).update(
            stock=F("stock") + delta):
        raise ValidationFailed.field("delta", f"stock would exceed {MAX_STOCK}")
    await _journal(conn, [Move(sku_id, abs(delta), "sku", sku_id)], R.ADJUST, stock=1 if delta > 0 else -1,
                   actor_id=actor_id, note=note)


# ---- live quota ---------------------------------------------------------------------------------
async def to_live(conn: Any, tiein_id: int, sku_id: int, qty: int, *, actor_id: int | None) -> None:
    """Set qty units of the shelf aside as an active live tie-in's quota (attach or top up); StockRefused
    out_of_stock when the shelf has fewer, 404 when the tie-in was withdrawn."""
    if not await Sku.filter(id=sku_id, stock__gte=qty).using_db(conn).update(stock=F("stock") - qty):
        raise StockRefused.out_of_stock(sku_id, "the quota is above the sellable stock")
    if not await LiveTieIn.filter(id=tiein_id, is_active=True).using_db(conn).update(
            quota=F("quota") + qty, remaining=F("remaining") + qty):
        raise NotFound("tie-in not found")  # withdrawn meanwhile: the caller's transaction rolls back
    await _journal(conn, [Move(sku_id, qty, "live_tiein", tiein_id)], R.TO_LIVE, stock=-1, quota=1,
                   actor_id=actor_id, tiein_id=tiein_id)
    await _crossed_zero(conn, [(sku_id, qty)], added=False)


async def from_live(conn: Any, tieins: list[LiveTieIn], *, ref_type: str = "live_tiein",
                    ref_id: int | None = None, actor_id: int | None = None) -> list[int]:
    """The unsold quota of tie-ins (locked by the caller, in id order) goes back to the shelf, once
    (guarded on the remaining the caller read); the SKUs then in SKU-id order. Returns the tie-in ids."""
    back: list[Move] = []
    for t in tieins:
        if t.remaining > 0 and await LiveTieIn.filter(id=t.id, remaining=t.remaining).using_db(conn).update(
                remaining=0, returned=F("returned") + t.remaining):
            back.append(Move(t.sku_id, t.remaining, ref_type, t.id if ref_id is None else ref_id))
            await _journal(conn, back[-1:], R.FROM_LIVE, stock=1, quota=-1, actor_id=actor_id, tiein_id=t.id)
    per_sku = _per_sku(back)
    for sku_id, qty in per_sku:
        await Sku.filter(id=sku_id).using_db(conn).update(stock=F("stock") + qty)
    await _crossed_zero(conn, per_sku, added=True)
    return [t.id for t in tieins]


async def live_give_back(conn: Any, tiein_id: int, sku_id: int, qty: int, *, actor_id: int | None) -> bool:
    """A cancelled live order's units (already back on the shelf by release) return to the session's
    quota while it is live; if the shelf sold them meanwhile the quota stays smaller. Returns whether
    they went back to the quota."""
    back = await Sku.filter(id=sku_id, stock__gte=qty).using_db(conn).update(stock=F("stock") - qty)
    if back:
        await LiveTieIn.filter(id=tiein_id).using_db(conn).update(remaining=F("remaining") + qty,
                                                                  sold=F("sold") - qty)
        await _journal(conn, [Move(sku_id, qty, "live_tiein", tiein_id)], R.LIVE_CANCEL, stock=-1, quota=1,
                       actor_id=actor_id, tiein_id=tiein_id)
    else:
        await LiveTieIn.filter(id=tiein_id).using_db(conn).update(sold=F("sold") - qty)
    return bool(back)


# The live quota take, a hot write (a flash sale's winners, written by the worker): count n units to
# the buyer within the per-buyer limit and move them from the tie-in's quota (never below zero) onto
# the shelf, for the checkout's reservation to take at once (net: quota -> reserved). Two
# implementations side by side, one behaviour table (tests/inventory/test_hot_writes.py) runs both.
LiveTake = Callable[[Any, int, int, int, int], Awaitable[tuple[bool, bool]]]

# PostgreSQL: the buyer's own row first (no contention; the limit checked, the row created on a first
# purchase), then the hot rows (tie-in, SKU), taken only if the buyer is within the limit and locked
# until the checkout commits, and the journal row: one statement, so no round trip to a busy worker.
_PG_LIVE_TAKE = (
    'WITH p AS (INSERT INTO "live_purchases" ("tiein_id", "buyer_id", "quantity") '
    'SELECT $2::bigint, $3::bigint, $1::int WHERE $1::int <= $4::int ON CONFLICT ("tiein_id", "buyer_id") '
    'DO UPDATE SET "quantity" = "live_purchases"."quantity" + $1 '
    'WHERE "live_purchases"."quantity" + $1 <= $4 RETURNING 1), '
    't AS (UPDATE "live_tieins" SET "remaining" = "remaining" - $1, "sold" = "sold" + $1 '
    'WHERE "id" = $2 AND "is_active" AND "remaining" >= $1 AND EXISTS (SELECT 1 FROM p) '
    'RETURNING "sku_id"), '
    'k AS (UPDATE "skus" SET "stock" = "stock" + $1 WHERE "id" = (SELECT "sku_id" FROM t) RETURNING "id"), '
    'j AS (INSERT INTO "stock_moves" ("sku_id", "reason", "d_stock", "d_reserved", "d_quota", "tiein_id", '
    '"ref_type", "ref_id", "actor_id", "note", "created_at") '
    f"SELECT k.\"id\", '{R.LIVE_SALE}', $1, 0, -$1, $2, 'live_tiein', $2, $3, '', now() FROM k) "
    'SELECT EXISTS (SELECT 1 FROM p) AS "within_limit", EXISTS (SELECT 1 FROM k) AS "taken"')


async def _live_take_pg(conn: Any, tiein_id: int, buyer_id: int, qty: int, limit: int) -> tuple[bool, bool]:
    row = (await conn.execute_query_dict(_PG_LIVE_TAKE, [qty, tiein_id, buyer_id, limit]))[0]
    return bool(row["within_limit"]), bool(row["taken"])


async def _live_take_orm(conn: Any, tiein_id: int, buyer_id: int, qty: int, limit: int) -> tuple[bool, bool]:
    await LivePurchase.bulk_create([LivePurchase(tiein_id=tiein_id, buyer_id=buyer_id, quantity=0)],
                                   ignore_conflicts=True, using_db=conn)
    within = await LivePurchase.filter(tiein_id=tiein_id, buyer_id=buyer_id, quantity__lte=limit - qty
                                       ).using_db(conn).update(quantity=F("quantity") + qty)
    if not within:
        return False, False
    if not await LiveTieIn.filter(id=tiein_id, is_active=True, remaining__gte=qty).using_db(conn).update(
            remaining=F("remaining") - qty, sold=F("sold") + qty):
        return True, False
    sku_id = (await LiveTieIn.filter(id=tiein_id).using_db(conn).values_list("sku_id", flat=True))[0]
    await Sku.filter(id=sku_id).using_db(conn).update(stock=F("stock") + qty)
    await _journal(conn, [Move(sku_id, qty, "live_tiein", tiein_id)], R.LIVE_SALE, stock=1, quota=-1,
                   actor_id=buyer_id, tiein_id=tiein_id)
    return True, True


LIVE_TAKES: dict[str, LiveTake] = {"postgres": _live_take_pg, "orm": _live_take_orm}


async def live_take(conn: Any, tiein_id: int, buyer_id: int, qty: int, limit: int) -> tuple[bool, bool]:
    """(within the buyer's limit, taken from the quota): see LIVE_TAKES; the caller's transaction
    rolls back on a refusal (the buyer's count with it)."""
    impl = LIVE_TAKES["postgres" if conn.capabilities.dialect == "postgres" else "orm"]
    return await impl(conn, tiein_id, buyer_id, qty, limit)


# The take for a batch of a flash sale's queued winners (live/checkout.py's drain), all or nothing:
# the same counts as live_take for each (tie-in, buyer, qty, limit), each pair at most once. Returns
# (every buyer within the limit, every tie-in's quota covered); on anything less the caller's
# transaction rolls back (the PostgreSQL statement may have applied part of it) and the caller writes
# each order alone through live_take, which says exactly who was refused.
@dataclass(frozen=True)
class LiveTakeItem:
    tiein_id: int
    buyer_id: int
    qty: int
    limit: int


LiveTakeMany = Callable[[Any, list[LiveTakeItem]], Awaitable[tuple[bool, bool]]]

# PostgreSQL: the buyers' rows (no contention), then the tie-ins and the SKUs, each locked in id order
# before they are updated (a concurrent checkout or take locks them in the same order), and one
# journal row per item, as live_take writes: one statement for the whole batch.
_PG_LIVE_TAKE_MANY = (
    'WITH want AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(tiein_id bigint, buyer_id bigint, q int, '
    'lim int)), '
    'p AS (INSERT INTO "live_purchases" ("tiein_id", "buyer_id", "quantity") '
    'SELECT w.tiein_id, w.buyer_id, w.q FROM want w WHERE w.q <= w.lim '
    'ON CONFLICT ("tiein_id", "buyer_id") DO UPDATE SET "quantity" = "live_purchases"."quantity" + EXCLUDED."quantity" '
    'WHERE "live_purchases"."quantity" + EXCLUDED."quantity" <= (SELECT w.lim FROM want w '
    'WHERE w.tiein_id = EXCLUDED."tiein_id" AND w.buyer_id = EXCLUDED."buyer_id") RETURNING 1), '
    'need AS (SELECT tiein_id, sum(q)::int AS q FROM want GROUP BY tiein_id), '
    'lt AS MATERIALIZED (SELECT t."id" FROM "live_tieins" t WHERE t."id" IN (SELECT tiein_id FROM need) '
    'ORDER BY t."id" FOR NO KEY UPDATE), '
    't AS (UPDATE "live_tieins" t SET "remaining" = t."remaining" - n.q, "sold" = t."sold" + n.q FROM need n '
    'WHERE t."id" = n.tiein_id AND t."id" IN (SELECT "id" FROM lt) AND t."is_active" AND t."remaining" >= n.q '
    'RETURNING t."id", t."sku_id"), '
    'ks AS (SELECT t."sku_id", sum(n.q)::int AS q FROM t JOIN need n ON n.tiein_id = t."id" GROUP BY t."sku_id"), '
    'kl AS MATERIALIZED (SELECT s."id" FROM "skus" s WHERE s."id" IN (SELECT "sku_id" FROM ks) '
    'ORDER BY s."id" FOR NO KEY UPDATE), '
    'k AS (UPDATE "skus" s SET "stock" = s."stock" + ks.q FROM ks WHERE s."id" = ks."sku_id" '
    'AND s."id" IN (SELECT "id" FROM kl) RETURNING s."id"), '
    'j AS (INSERT INTO "stock_moves" ("sku_id", "reason", "d_stock", "d_reserved", "d_quota", "tiein_id", '
    '"ref_type", "ref_id", "actor_id", "note", "created_at") '
    f"SELECT t.\"sku_id\", '{R.LIVE_SALE}', w.q, 0, -w.q, w.tiein_id, 'live_tiein', w.tiein_id, w.buyer_id, '', "
    'now() FROM want w JOIN t ON t."id" = w.tiein_id) '
    'SELECT (SELECT count(*) FROM p) = (SELECT count(*) FROM want) AS "within_limit", '
    '(SELECT count(*) FROM t) = (SELECT count(*) FROM need) AS "taken"')


def _check_pairs(items: list[LiveTakeItem]) -> None:
    if len({(x.tiein_id, x.buyer_id) for x in items}) != len(items):
        raise ValueError("live_take_many: a (tie-in, buyer) pair appears twice")


async def _live_take_many_pg(conn: Any, items: list[LiveTakeItem]) -> tuple[bool, bool]:
    _check_pairs(items)
    doc = orjson.dumps([{"tiein_id": x.tiein_id, "buyer_id": x.buyer_id, "q": x.qty, "lim": x.limit}
                        for x in items]).decode()
    row = (await conn.execute_query_dict(_PG_LIVE_TAKE_MANY, [doc]))[0]
    return bool(row["within_limit"]), bool(row["taken"])


async def _live_take_many_orm(conn: Any, items: list[LiveTakeItem]) -> tuple[bool, bool]:
    _check_pairs(items)
    for x in sorted(items, key=lambda x: (x.tiein_id, x.buyer_id)):
        within, taken = await _live_take_orm(conn, x.tiein_id, x.buyer_id, x.qty, x.limit)
        if not (within and taken):
            return within, taken
    return True, True


LIVE_TAKES_MANY: dict[str, LiveTakeMany] = {"postgres": _live_take_many_pg, "orm": _live_take_many_orm}


async def live_take_many(conn: Any, items: list[LiveTakeItem]) -> tuple[bool, bool]:
    """live_take for a batch, all or nothing: see LIVE_TAKES_MANY."""
    impl = LIVE_TAKES_MANY["postgres" if conn.capabilities.dialect == "postgres" else "orm"]
    return await impl(conn, items)


# ---- checkout's SQL part (PostgreSQL) -----------------------------------------------------------
# Embedded in server/orders/service.py's _CHECKOUT_PG (one statement per batch of orders).
# PG_CHECKOUT_LOCK_FIT reads `want` (o: the order's place in the batch, sku_id, q, n: the line's place)
# and `sku` (id, sellable). `locked` takes the sellable SKU rows in id order (ORDER BY runs before FOR
# NO KEY UPDATE, the lock the UPDATE takes itself), so concurrent statements never deadlock, and sees
# their newest versions. A line fits when its SKU is sellable and its stock covers it together with the
# same SKU's lines of every EARLIER order of the batch, whether those fitted or not: a cautious count,
# so the stock taken never exceeds the stock there; fits_alone says whether it would fit by itself.
PG_CHECKOUT_LOCK_FIT = """
locked AS MATERIALIZED (
  SELECT s."id", s."stock", s."is_active" FROM "skus" s
  WHERE s."id" IN (SELECT "id" FROM sku WHERE sellable)
  ORDER BY s."id" FOR NO KEY UPDATE OF s
),
fit AS MATERIALIZED (
  SELECT w.n, lk."id" IS NOT NULL AND lk."is_active"
    AND sum(w.q) OVER (PARTITION BY w.sku_id ORDER BY w.o) <= lk."stock" AS fits,
    lk."id" IS NOT NULL AND lk."is_active" AND w.q <= lk."stock" AS fits_alone
  FROM want w LEFT JOIN locked lk ON lk."id" = w.sku_id
)"""
# PG_CHECKOUT_RESERVE reads `line` (o, sku_id, q) and `placed` (o: the orders written) and takes the
# stock of exactly the orders written (their rows are locked and fitted above), answering each SKU's
# stock left (`res`: id, stock).
PG_CHECKOUT_RESERVE = """
res AS (
  UPDATE "skus" s SET "stock" = s."stock" - t.q, "reserved" = s."reserved" + t.q
  FROM (SELECT sku_id, sum(q) AS q FROM line JOIN placed USING (o) GROUP BY sku_id) t
  WHERE s."id" = t.sku_id
  RETURNING s."id", s."stock"
)"""
# PG_CHECKOUT_JOURNAL reads `l` (the order lines written: id, order_id, sku_id, quantity), `placed`
# (o, order_id) and `ord` (o, actor_id): one journal row per order line, in the same statement.
PG_CHECKOUT_JOURNAL = f"""
sm AS (
  INSERT INTO "stock_moves" ("sku_id", "reason", "d_stock", "d_reserved", "d_quota", "tiein_id", "ref_type",
    "ref_id", "actor_id", "note", "created_at")
  SELECT l."sku_id", '{R.CHECKOUT}', -l."quantity", l."quantity", 0, NULL, 'order_line', l."id", x.actor_id, '',
    now()
  FROM l JOIN placed p ON p.order_id = l."order_id" JOIN ord x ON x.o = p.o
)"""


# ---- the journal --------------------------------------------------------------------------------
async def journal(sku_id: int, cursor: str | None, limit: int) -> StockMovesPage:
    """A SKU's stock journal, newest first (the caller has checked the SKU is in scope)."""
    rows, nxt = await id_page(StockMove.filter(sku_id=sku_id), cursor, limit, newest_first=True)
    return StockMovesPage(items=[StockMoveOut.model_validate(r) for r in rows], next_cursor=nxt)


async def sku_journal(sku_id: int, cursor: str | None, limit: int) -> StockMovesPage:
    """Any SKU's stock journal (the office and the warehouse); 404 for no such SKU."""
    if not await Sku.filter(id=sku_id).exists():
        raise NotFound("sku not found")
    return await journal(sku_id, cursor, limit)
