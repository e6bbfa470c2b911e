"""kit.db.detached: a task outside the caller's transaction, held until done and cancelled when the
process stops (lifecycle.stop), before the connections it uses are closed."""
import asyncio

import pytest

from server.kit import db


async def test_a_detached_task_runs_outside_the_transaction_and_is_cancelled_at_stop(client):
    from server.models.accounts import User

    seen = {}

    async def outside():
        seen["in_atomic"] = db.in_atomic()
        seen["users"] = await User.all().count()  # the pool's connection, not the block's

    async def forever():
        await asyncio.sleep(3600)

    async with db.atomic():
        done = db.detached(outside())
    await done
    assert seen["in_atomic"] is False and seen["users"] >= 0
    assert done not in db._detached  # let go once done

    long = db.detached(forever())
    await asyncio.sleep(0)
    assert long in db._detached
    await db.cancel_detached()
    assert long.cancelled() and long not in db._detached


async def test_at_most_transactions_at_once_run_and_reads_are_not_held_behind_them(client, on_postgres):
    """Outermost transactions take one of TRANSACTIONS_AT_ONCE slots (the rest of the pool reads);
    a nested one does not, so a full house of transactions still nests without waiting."""
    if not on_postgres:
        pytest.skip("SQLite has one connection: one transaction at a time")
    from server.models.accounts import User

    inside, peak = 0, 0
    release = asyncio.Event()

    async def tx():
        nonlocal inside, peak
        async with db.atomic():
            inside += 1
            peak = max(peak, inside)
            async with db.atomic():  # nested: a savepoint on the same connection, no slot
                await User.all().count()
            await release.wait()
            inside -= 1

    tasks = [asyncio.ensure_future(tx()) for _ in range(db.TRANSACTIONS_AT_ONCE + 3)]
    for _ in range(100):
        await asyncio.sleep(0.01)
        if inside == db.TRANSACTIONS_AT_ONCE:
            break
    await asyncio.sleep(0.05)
    assert inside == db.TRANSACTIONS_AT_ONCE  # the others wait for a slot
    assert await asyncio.wait_for(User.all().count(), 5) >= 0  # a read is not behind them
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert peak == db.TRANSACTIONS_AT_ONCE and inside == 0
