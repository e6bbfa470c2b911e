"""Schemathesis over every operation in /docs/openapi.json: no request, valid or not, gets a 5xx.

The server under fuzz is started as a user would (`python -m server serve`, bench.core.Stack) on its
own throwaway database and Redis prefix, on the same backend as the rest of the suite (PostgreSQL +
Redis when KAZUO_TEST_DATABASE_URL / KAZUO_TEST_REDIS_URL are set, the embedded default otherwise),
with the demo data loaded so that generated ids hit real stations, merchants and products. A separate
process keeps the random writes the fuzzer makes (disabled users, taken-down products, new stations)
out of the session server the other tests share, and keeps blocking HTTP calls off its event loop.

Cost stays bounded as the API grows: few examples per operation, derandomized, no shrinking, and a
time budget after which the remaining operations get one request each (required parameters only).
KAZUO_FUZZ_EXAMPLES (default 4) and KAZUO_FUZZ_BUDGET (seconds, default 20) tune it."""
from __future__ import annotations

import asyncio
import os
import time

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, Verbosity, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import Failure, FailureGroup  # noqa: E402

from bench.core import PYTHON, Stack, StackOptions  # noqa: E402

PG_URL = os.environ.get("KAZUO_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("KAZUO_TEST_REDIS_URL", "")
EXAMPLES = int(os.environ.get("KAZUO_FUZZ_EXAMPLES", "4"))
BUDGET = float(os.environ.get("KAZUO_FUZZ_BUDGET", "20"))


# Runs in a subprocess with the server's environment (one process start instead of one per command):
# loads the demo data on PostgreSQL, then grants every role to one user, bound to the first demo
# village station and active merchant (grant_role_by_openid creates the user).
_GRANT_ALL = """
import asyncio
from config.settings import get_settings
from server import startup
from server.kit import lifecycle

async def main():
    from server.accounts import service
    from server.models.merchants import Merchant
    from server.models.stations import Station
    settings = get_settings()
    startup.install()
    await lifecycle.start(settings)
    try:
        if not settings.embedded_db:  # the embedded server seeded itself on its first start
            from server import demo
            await demo.seed()
        station = await Station.filter(level="village").order_by("id").first()
        merchant = await Merchant.filter(status="active").order_by("id").first()
        for role in ("admin", "livestreamer", "warehouse"):
            await service.grant_role_by_openid("o-fuzz-root", role, station_code=None, merchant_id=None)
        if station is not None:
            await service.grant_role_by_openid("o-fuzz-root", "station_staff", station_code=station.code,
                                               merchant_id=None, is_head=True)
        if merchant is not None:
            await service.grant_role_by_openid("o-fuzz-root", "merchant", station_code=None,
                                               merchant_id=merchant.id)
    finally:
        await lifecycle.stop()

asyncio.run(main())
"""


async def _fuzz_identity(stack: Stack) -> dict[str, str]:
    """Bearer headers of a user holding every role, so role checks let generated requests through to
    body parsing and the services."""
    import httpx

    proc = await asyncio.create_subprocess_exec(PYTHON, "-c", _GRANT_ALL, env=stack.env, cwd=stack.tmp,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as c:
        r = await c.post("/__sim__/wechat/login-code", json={"openid": "o-fuzz-root"})
        r = await c.post("/api/v1/auth/wechat-login", json={"code": r.json()["code"]})
        assert r.status_code == 200, r.text
        assert "admin" in r.json()["user"]["roles"], r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


def _fuzz(base_url: str, headers: dict[str, str]) -> tuple[list[str], dict]:
    """Generate and send requests for every operation; return the 5xx failures and a summary."""
    import requests

    schema = schemathesis.openapi.from_url(base_url + "/docs/openapi.json")
    failures: dict[str, str] = {}
    stats = {"operations": 0, "cases": 0, "skipped": []}
    session = requests.Session()
    started = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()  # an Err here means the document itself is broken: let it raise
        stats["operations"] += 1
        over_budget = time.monotonic() - started > BUDGET
        # The first pass sends no optional query parameters: generated ones (a junk cursor, say)
        # tend to be rejected with a 422 before the service runs, hiding errors further in.
        plan = [(GenerationMode.POSITIVE, 1, {"query": {}})]
        if not over_budget:
            plan += [(GenerationMode.POSITIVE, EXAMPLES, {}),
                     (GenerationMode.NEGATIVE, max(1, EXAMPLES // 2), {})]
        for mode, n, fixed in plan:

            def call(case) -> None:
                stats["cases"] += 1
                response = case.call(base_url=base_url, headers=headers, session=session, timeout=20)
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except (Failure, FailureGroup) as exc:
                    key = f"{case.method} {case.path} -> {response.status_code}"
                    failures.setdefault(key, f"{key}: {case.as_curl_command()[:800]}")

            test = given(op.as_strategy(generation_mode=mode, **fixed))(call)
            test = hsettings(max_examples=n, derandomize=True, database=None, deadline=None,
                             phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
                             suppress_health_check=list(HealthCheck))(test)
            try:
                test()
            except Exception as exc:  # noqa: BLE001 - an operation the generator cannot negate
                if mode is GenerationMode.NEGATIVE and "Unsatisf" in type(exc).__name__:
                    continue
                stats["skipped"].append(f"{op.method.upper()} {op.path} ({mode.value}): "
                                        f"{type(exc).__name__}: {str(exc)[:200]}")
    stats["seconds"] = round(time.monotonic() - started, 1)
    return list(failures.values()), stats


async def test_no_operation_answers_a_server_error():
    opts = StackOptions(pg=bool(PG_URL), redis=bool(REDIS_URL), worker="inline",
                        env={"KAZUO_LOG_LEVEL": "WARNING"})
    if PG_URL:
        opts.pg_url = PG_URL
    if REDIS_URL:
        opts.redis_url = REDIS_URL
    stack = Stack(opts)
    try:
        await stack.start()
        headers = await _fuzz_identity(stack)
        failures, stats = await asyncio.to_thread(_fuzz, stack.base_url, headers)
        assert stack.server is not None and stack.server.alive(), stack.server.tail() if stack.server else ""
    finally:
        await stack.stop()
    print(f"\nfuzzed {stats['operations']} operations with {stats['cases']} requests in {stats['seconds']}s")
    assert stats["operations"] > 5, stats
    assert not failures, f"{len(failures)} operation(s) answered 5xx:\n" + "\n".join(failures)
    assert not stats["skipped"], ("operations schemathesis could not generate for:\n"
                                  + "\n".join(stats["skipped"]))
