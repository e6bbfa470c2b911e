"""Order source hooks: how another capability (the livestream, live/) takes part in checkout without
server/ importing it.

    from server.orders import hooks

    async def resolve_live(ctx: hooks.SourceContext) -> hooks.SourceResult: ...
    async def release_live(order: hooks.ReleasedOrder, conn) -> None: ...
    hooks.register_source("live", resolve_live, on_release=release_live)

Register from code that BOTH the server and the worker load (a start-up hook listed in
server/startup.py runs in both), so that the cancel job in the worker finds on_release too.

Checkout with `source={"kind": "live", "session_id": 12}` calls the resolver INSIDE the checkout
transaction (ctx.conn), after the SKUs and their prices were loaded and before stock is reserved.
The resolver:
  * validates the source (unknown/ended session -> raise ValidationFailed.field("source.session_id", ...)),
  * takes its quota (flash stock, per-buyer limit) in the same transaction (conditional updates on
    ctx.conn), or raises Conflict — a rollback of the checkout gives the quota back by itself; a quota
    kept in Redis must be returned with server.kit.db.on_commit-style care (use ctx.on_rollback),
  * returns a SourceResult: per-SKU unit price overrides (fen; only ever lower or equal to what it
    resolved, the checkout uses them as the line price), the commission rate in basis points for the
    livestreamer, and the session and livestreamer ids recorded on the order (attribution).
  * may set SourceResult.after_write(order_id, conn): run once the order and its lines are written,
    still in the checkout transaction, for the source's own rows (the pre-sale's terms, server/presale);
    raising there rolls the whole checkout back.

What a source took BEFORE the checkout began travels in ctx.holds, as the caller passed it to
create_order(holds=...) (live's queued buy button: the gate hold its worker turns into an order); the
resolver then uses that hold instead of taking again. No module-level state carries it.

on_release(order, conn) runs inside the transaction that cancels an UNPAID order (buyer cancel or
timeout) — once per order, because the cancel is a guarded transition — so the quota goes back
exactly once. It is not called for refunds of paid orders (the goods were sold on air).

resolve_many(ctxs, conn), optional, is the resolver for a batch of orders of one source written
together (orders.service.create_orders_together: a flash sale's queued winners): one SourceResult per
context, in order, or raise to refuse the whole batch (nothing is written; the caller then writes
each order alone through the resolver, which says exactly why one is refused).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable


@dataclass(frozen=True)
class SourceLine:
    sku_id: int
    product_id: int
    merchant_id: int
    quantity: int
    unit_price: int  # the catalogue price in fen


@dataclass
class SourceContext:
    buyer_id: int
    source: dict                 # the checkout's "source" object as sent, e.g. {"kind": "live", "session_id": 12}
    lines: list[SourceLine]
    conn: Any                    # the checkout transaction
    assisted_by: int | None = None
    # Callables run if the checkout rolls back after the resolver returned (for quotas held outside
    # the database, e.g. a Redis flash-stock counter).
    on_rollback: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # What the source took before the checkout began, as its caller passed it to
    # orders.create_order(holds=...): live's queued buy button passes {tiein_id: (hold, qty, buyer)},
    # the gate holds its worker now turns into an order. Empty for an ordinary checkout.
    holds: dict = field(default_factory=dict)


@dataclass
class SourceResult:
    live_session_id: int | None = None
    livestreamer_id: int | None = None
    commission_bp: int = 0                                     # per line, basis points
    unit_prices: dict[int, int] = field(default_factory=dict)  # sku_id -> unit price override (fen)
    commission_bp_by_sku: dict[int, int] = field(default_factory=dict)  # optional per-SKU rate
    # Called with (order_id, conn) right after the order is written, in the checkout's transaction:
    # a source records its own rows for the order (the pre-sale's terms, server/presale) or raises to
    # roll the whole checkout back.
    after_write: Callable[[int, Any], Awaitable[None]] | None = None


@dataclass(frozen=True)
class ReleasedOrder:
    order_id: int
    buyer_id: int
    source: str
    live_session_id: int | None
    lines: list[tuple[int, int]]  # (sku_id, quantity)


Resolver = Callable[[SourceContext], Awaitable[SourceResult]]
Release = Callable[[ReleasedOrder, Any], Awaitable[None]]
ResolveMany = Callable[[list[SourceContext], Any], Awaitable[list[SourceResult]]]

_resolvers: dict[str, Resolver] = {}
_releases: dict[str, Release] = {}
_batch_resolvers: dict[str, ResolveMany] = {}


def register_source(kind: str, resolver: Resolver, on_release: Release | None = None,
                    resolve_many: ResolveMany | None = None) -> None:
    """Register the checkout resolver (and the unpaid-cancel release, and the batch resolver) for a
    source kind."""
    _resolvers[kind] = resolver
    if on_release is not None:
        _releases[kind] = on_release
    if resolve_many is not None:
        _batch_resolvers[kind] = resolve_many


def batch_resolver(kind: str) -> ResolveMany | None:
    return _batch_resolvers.get(kind)


def resolver(kind: str) -> Resolver | None:
    return _resolvers.get(kind)


def release(kind: str) -> Release | None:
    return _releases.get(kind)


def kinds() -> list[str]:
    return sorted(_resolvers)
