"""How the livestream (live/) takes part in a recall without server/ importing it. Live owns the rule
("a withdrawn tie-in's unsold quota goes back to the shelf"); trace only calls it:

    from server.trace import hooks
    hooks.register_live(withdraw=live_service.withdraw_tieins, after=live_service.tieins_withdrawn)

Register from code that BOTH the server and the worker load (live/setup.py), like the orders source
hooks. withdraw(sku_ids, conn, batch_id=, actor_id=) runs INSIDE the recall's transaction and returns
the withdrawn tie-in ids (a failure rolls the whole recall back); after(tiein_ids) runs in a job after
the commit (drop the flash gates, show the rooms their product lists) and is safe to run twice.
Without live registered (a deployment without livestream) there is nothing to withdraw."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

Withdraw = Callable[..., Awaitable[list[int]]]
After = Callable[[list[int]], Awaitable[int]]
_live: dict[str, Any] = {}


def register_live(*, withdraw: Withdraw, after: After) -> None:
    """Register live's recall functions."""
    _live.update(withdraw=withdraw, after=after)


async def withdraw_live(sku_ids: list[int], conn: Any, *, batch_id: int, actor_id: int | None) -> list[int]:
    """Withdraw the live tie-ins of the recalled SKUs (live's rule), in the recall's transaction."""
    fn = _live.get("withdraw")
    return await fn(sku_ids, conn, batch_id=batch_id, actor_id=actor_id) if fn else []


async def live_withdrawn(tiein_ids: list[int]) -> int:
    """After the commit: live's follow-up for the withdrawn tie-ins (the number of rooms told)."""
    fn = _live.get("after")
    return await fn(tiein_ids) if fn else 0
