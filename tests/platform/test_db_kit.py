"""kit.db.detached: a task outside the caller's transaction, held until done and cancelled when the
process stops (lifecycle.stop), before the connections it uses are closed."""
import asyncio

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
