"""Racing payouts (real on PostgreSQL, where the payee row lock is what keeps them apart): batches
prepared at once never hold more than the settled, unpaid balance, and a line finished by racing
notifications, queries and imports posts its ledger entry once."""
import asyncio

import pytest

from server.models.ledger import LedgerEntry
from server.models.payouts import PayoutLine
from server.payouts import service as payouts
from tests.conftest import login_as
from tests.payouts.helpers import CONSOLE, merchant_payee, prepare


@pytest.fixture
async def checker(client):
    return await login_as(client, "admin")


async def test_racing_batches_never_pay_more_than_the_balance(client, admin, checker, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are real on PostgreSQL only")
    m, _, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=10_000)
    item = {"account_type": "merchant", "account_id": m.id, "amount_fen": 3000}
    rs = await asyncio.gather(*[prepare(admin, "bank", [item]) for _ in range(8)])
    ok = [r for r in rs if r.status_code == 201]
    assert len(ok) == 3, [r.text for r in rs]
    assert all(r.json()["error"]["code"] == "exceeds_balance" for r in rs if r.status_code != 201)
    b = await payouts.balance("merchant", m.id)
    assert (b.held_fen, b.available_fen) == (9000, 1000)
    # the whole balance, asked for by several at once: once
    m2, _, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=5000)
    rs = await asyncio.gather(*[prepare(admin, "bank", [{"account_type": "merchant", "account_id": m2.id}])
                                for _ in range(6)])
    assert sum(r.status_code == 201 for r in rs) == 1
    assert (await payouts.balance("merchant", m2.id)).available_fen == 0


async def test_a_line_finished_by_racers_is_paid_once(client, admin, checker, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are real on PostgreSQL only")
    m, _, _ = await merchant_payee(client, admin, checker, method="bank", settled_fen=2500)
    batch = (await prepare(admin, "bank", [{"account_type": "merchant", "account_id": m.id}])).json()
    await checker.post(f"{CONSOLE}/payout-batches/{batch['id']}/approve", json={})
    line_id = batch["lines"][0]["id"]
    done = await asyncio.gather(*[payouts.finish_line(line_id, success=i % 2 == 0, why="x") for i in range(8)])
    assert done.count(True) == 1
    line = await PayoutLine.get(id=line_id)
    entries = await LedgerEntry.filter(ref_kind="payout_line", ref_id=line_id).count()
    assert entries == (1 if line.status == "succeeded" else 0)
    b = await payouts.balance("merchant", m.id)
    assert b.paid_fen + b.available_fen == 2500 and b.held_fen == 0
