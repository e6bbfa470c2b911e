"""Payees with a settled balance, made the way the office makes them (maker–checker through the API)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from server.kit import clock
from server.models.accounts import User
from server.models.payouts import PayoutLine
from server.models.settlement import Statement
from tests.conftest import login_as, wait_for
from tests.orders.conftest import make_merchant

CONSOLE = "/api/v1/console"


async def settled(account_type: str, account_id: int, total_fen: int) -> Statement:
    """A statement of total_fen for the payee (a period of its own: unique per payee and period)."""
    start = clock.now() - timedelta(days=7, seconds=secrets.randbelow(10**7))
    return await Statement.create(account_type=account_type, account_id=account_id, period_start=start,
                                  period_end=start + timedelta(days=7), total_fen=total_fen, sales_fen=total_fen)


async def approved_payee(admin, checker, account_type: str, account_id: int, method: str = "wechat", **details):
    body = {"account_type": account_type, "account_id": account_id, "method": method, **details}
    r = await admin.post(f"{CONSOLE}/payee-changes", json=body)
    assert r.status_code == 201, r.text
    r = await checker.post(f"{CONSOLE}/payee-changes/{r.json()['id']}/approve", json={})
    assert r.status_code == 200, r.text
    return r.json()


async def merchant_payee(client, admin, checker, *, method="wechat", settled_fen=5000, real_name="张三"):
    """A merchant, its member (signed in) and approved payee details, with settled_fen settled."""
    m = await make_merchant()
    member = await login_as(client, "merchant", merchant_id=m.id)
    openid = (await User.get(id=member.id)).openid
    details = {"openid": openid, "real_name": real_name} if method == "wechat" else {
        "real_name": real_name, "bank_account": "6222" + f"{secrets.randbelow(10**12):012d}",
        "bank_name": "中国农业银行", "bank_branch": "喀左支行"}
    await approved_payee(admin, checker, "merchant", m.id, method, **details)
    if settled_fen:
        await settled("merchant", m.id, settled_fen)
    return m, member, openid


async def prepare(admin, method: str, items: list[dict]):
    return await admin.post(f"{CONSOLE}/payout-batches", json={"method": method, "items": items})


async def wechat_state(line_id: int, state: str = "WAIT_USER_CONFIRM") -> PayoutLine:
    async def reached():
        line = await PayoutLine.get(id=line_id)
        return line if line.wechat_state == state or line.status in ("succeeded", "failed") else None
    line = await wait_for(reached, timeout=10)
    assert line is not None, await PayoutLine.get(id=line_id)
    return line


async def line_status(line_id: int, status: str) -> PayoutLine:
    async def reached():
        line = await PayoutLine.get(id=line_id)
        return line if line.status == status else None
    line = await wait_for(reached, timeout=10)
    assert line is not None, (await PayoutLine.get(id=line_id)).__dict__
    return line
