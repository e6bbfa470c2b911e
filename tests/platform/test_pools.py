"""Bounded pools (server/kit/pools.py): a slow vendor fills only its own pool, a call's deadline
counts its wait for a thread, and nothing is left on asyncio's shared default executor."""
import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

from server.integrations.wechatpay import PayGatewayError
from server.integrations.wechatpay_gateway import gateway
from server.kit import pools
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]


def test_no_asyncio_to_thread_left():
    """Every blocking call goes to a named pool: asyncio.to_thread and the default executor are shared by
    everything (six threads), which let a slow WeChat Pay hold up an unrelated login for 15.9 s."""
    pattern = re.compile(r"\bto_thread\s*\(|run_in_executor\s*\(\s*None")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for d in ("server", "live", "jobs") for p in (ROOT / d).rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


async def test_a_deadline_counts_the_wait_for_a_thread():
    release = threading.Event()
    started = []

    def block():
        release.wait(5)

    def late():
        started.append(1)

    busy = [asyncio.ensure_future(pools.vendor_call("test-busy", block)) for _ in range(pools._sizes["vendor"])]
    await asyncio.sleep(0.05)
    t0 = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await pools.vendor_call("test-busy", late, deadline=0.2)
    assert time.monotonic() - t0 < 1.0  # the deadline, not the 5 s the threads are held
    release.set()
    await asyncio.gather(*busy)
    await asyncio.sleep(0.05)
    assert started == []  # a call still queued at its deadline never starts
    assert await pools.vendor_call("test-busy", lambda: 42, deadline=1) == 42


async def test_slow_wechat_pay_does_not_delay_a_wechat_login(client):
    """WeChat Pay answers after 1.5 s and eight payment queries fill its pool twice over; a WeChat login
    at the same moment runs in the WeChat pool and answers at once."""
    r = await client.post("/__sim__/wechatpay/faults", json={"api": "orderquery", "delay_seconds": 1.5})
    assert r.status_code == 200, r.text
    try:
        async def query():
            t0 = time.monotonic()
            with pytest.raises(PayGatewayError):  # ORDERNOTEXIST, after the delay
                await gateway().query("NOSUCHORDER" + str(time.monotonic_ns())[-8:])
            return time.monotonic() - t0

        slow = [asyncio.ensure_future(query()) for _ in range(8)]
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        await login(client)
        login_took = time.monotonic() - t0
        took = await asyncio.gather(*slow)
    finally:
        await client.delete("/__sim__/wechatpay/faults")
    assert min(took) >= 1.4 and max(took) >= 2.9  # slow indeed, and queued behind each other in its pool
    assert login_took < 1.0, login_took


async def test_the_simulator_fault_switch_validates(client):
    r = await client.post("/__sim__/wechatpay/faults", json={"api": "nope", "http_status": 404})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"api", "http_status"}
