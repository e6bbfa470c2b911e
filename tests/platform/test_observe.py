"""/metrics (names, labels, a checkout moving its counters, the token in production), the JSON access
log, and the reverse-proxy settings (the client's address, not the proxy's, reaches per-IP limits)."""
from __future__ import annotations

import logging
import secrets

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from config.settings import Settings
from server.kit import clock, metrics
from server.kit import redis as kr
from server.kit.context import KzRequest
from server.kit.observe import make_observer
from tests.conftest import login
from tests.orders.conftest import checkout, make_sku, make_station, pay_and_notify, pickup_body


async def scrape(client, headers=None) -> dict[str, dict[tuple, float]]:
    r = await client.get("/metrics", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(figures, name, **labels) -> float:
    return figures.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


async def test_a_checkout_and_its_payment_move_the_counters(client):
    buyer = await login(client)
    sku, station = await make_sku(stock=5), await make_station()
    before = await scrape(client)
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 1)))
    assert r.status_code == 201, r.text
    await pay_and_notify(buyer, r.json()["id"])
    await client.get("/api/v1/orders/999999999", headers=buyer.headers)  # a 404 on a named route
    after = await scrape(client)

    assert value(after, "kazuo_orders_placed_total") == value(before, "kazuo_orders_placed_total") + 1
    assert value(after, "kazuo_pay_notifications_received_total", kind="pay") >= \
        value(before, "kazuo_pay_notifications_received_total", kind="pay") + 1
    assert value(after, "kazuo_payments_total", outcome="applied") == \
        value(before, "kazuo_payments_total", outcome="applied") + 1
    # Requests by route name (not URL) and status, latency by route.
    route = "mp_orders.checkout"
    assert value(after, "kazuo_http_requests_total", route=route, status="201") == \
        value(before, "kazuo_http_requests_total", route=route, status="201") + 1
    assert value(after, "kazuo_http_request_duration_seconds_count", route=route) >= 1
    assert value(after, "kazuo_http_request_duration_seconds_bucket", route=route, le="+Inf") >= 1
    assert value(after, "kazuo_http_requests_total", route="mp_orders.my_order", status="404") >= 1
    assert not any("999999999" in dict(k).get("route", "") for k in after["kazuo_http_requests_total"])
    # Read at scrape time from Redis: the queue (the unpaid order's deferred cancel job waits there).
    queue = kr.key("arq:queue")
    assert value(after, "kazuo_job_queue_depth", queue=queue, state="deferred") >= 1
    assert (queue,) in [tuple(v for _, v in k) for k in after["kazuo_job_queue_oldest_age_seconds"]]


async def test_every_declared_family_is_exposed_with_its_labels(client):
    r = await client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    for name in ("kazuo_http_requests", "kazuo_http_request_duration_seconds", "kazuo_orders_placed",
                 "kazuo_payments", "kazuo_payments_rejected", "kazuo_refunds", "kazuo_pay_notifications_received",
                 "kazuo_pickup_verifications", "kazuo_pickup_lockouts", "kazuo_flash_gate", "kazuo_sms_sent",
                 "kazuo_sms_refused", "kazuo_job_failures", "kazuo_sweeper_finds", "kazuo_job_queue_depth",
                 "kazuo_job_queue_oldest_age_seconds", "kazuo_metrics_hook_errors"):
        assert name in families, name
    assert families["kazuo_job_queue_depth"].type == "gauge"
    assert families["kazuo_http_request_duration_seconds"].type == "histogram"


async def test_a_rejected_notification_is_counted_by_reason(client):
    before = await scrape(client)
    r = await client.post("/api/v1/pay/wechat/v3/notify", content=b'{"id": "forged", "resource": {}}',
                          headers={"Wechatpay-Signature": "AAAA", "Wechatpay-Timestamp": "1",
                                   "Wechatpay-Nonce": "n", "Wechatpay-Serial": "S"})
    assert 400 <= r.status_code < 500 and "FAIL" in r.text
    after = await scrape(client)
    moved = {k: v - before.get("kazuo_payments_rejected_total", {}).get(k, 0)
             for k, v in after["kazuo_payments_rejected_total"].items()}
    assert sum(moved.values()) == 1
    (labels,) = [k for k, v in moved.items() if v == 1]
    assert dict(labels)["reason"] == "stale_wechatpay-timestamp"  # the fixed message, as a label


async def test_scrape_hooks_add_gauges_and_a_failing_one_is_reported(client):
    async def alerts():
        return [metrics.Gauge("kazuo_alert_active", "test alert", ("alert",), [(("worker_stale",), 1)])]

    async def broken():
        raise RuntimeError("boom")

    metrics.add_scrape_hook(alerts)
    metrics.add_scrape_hook(broken)
    try:
        figures = await scrape(client)
    finally:
        metrics.SCRAPE_HOOKS.remove(alerts)
        metrics.SCRAPE_HOOKS.remove(broken)
    assert value(figures, "kazuo_alert_active", alert="worker_stale") == 1
    assert value(figures, "kazuo_metrics_hook_errors", hook="broken") == 1


async def test_instrumented_jobs_count_failures_and_sweeper_finds():
    from arq import Retry

    async def sweep(ctx):
        return {"query": 2, "refund": 0}

    async def fails(ctx):
        raise ValueError("x")

    async def retries(ctx):
        raise Retry(defer=1)

    before_find = value_of(metrics.SWEEPER_FINDS, "test.sweep", "query")
    before_fail = value_of(metrics.JOB_FAILURES, "test.fails")
    assert await metrics.instrument_job("cron:test.sweep", sweep)({}) == {"query": 2, "refund": 0}
    with pytest.raises(ValueError):
        await metrics.instrument_job("test.fails", fails)({})
    with pytest.raises(Retry):
        await metrics.instrument_job("test.retries", retries)({})
    assert value_of(metrics.SWEEPER_FINDS, "test.sweep", "query") == before_find + 2
    assert value_of(metrics.SWEEPER_FINDS, "test.sweep", "refund") == 0
    assert value_of(metrics.JOB_FAILURES, "test.fails") == before_fail + 1
    assert value_of(metrics.JOB_FAILURES, "test.retries") == 0


def value_of(counter, *labels) -> float:
    return counter.labels(*labels)._value.get()


async def test_metrics_need_the_token_in_production(app, client):
    real = app.ctx.settings
    token = secrets.token_urlsafe(32)
    try:
        app.ctx.settings = real.model_copy(update={"env": "production", "metrics_token": None})
        r = await client.get("/metrics", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "metrics_token_required"
        app.ctx.settings = real.model_copy(update={"env": "production", "metrics_token": SecretStr(token)})
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": token})).status_code == 401
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "kazuo_http_requests_total" in ok.text
    finally:
        app.ctx.settings = real
    assert (await client.get("/metrics")).status_code == 200  # open in the embedded default


async def test_the_access_log_is_one_json_line_per_request(client, settings, caplog):
    buyer = await login(client)
    real = KzRequest.observe
    KzRequest.observe = make_observer(settings.model_copy(update={"access_log": True}))
    try:
        with caplog.at_level(logging.INFO, logger="kazuo.access"):
            r = await client.get("/api/v1/me", headers={**buyer.headers, "X-Request-ID": "rid-access-1"})
    finally:
        KzRequest.observe = real
    assert r.status_code == 200
    (rec,) = [x for x in caplog.records if x.name == "kazuo.access" and x.request_id == "rid-access-1"]
    assert rec.route == "mp_auth.me" and rec.status == 200 and rec.user_id == buyer.id
    assert rec.method == "GET" and rec.path == "/api/v1/me" and rec.duration_ms >= 0
    assert rec.client == "127.0.0.1"
    from server.kit.logging import JsonFormatter
    import orjson

    line = orjson.loads(JsonFormatter().format(rec))
    assert line["request_id"] == "rid-access-1" and line["user_id"] == buyer.id and line["status"] == 200


def test_the_access_log_is_on_by_default_in_production_only():
    assert Settings(_env_file=None).access_log_on is False
    prod = Settings.model_construct(env="production", access_log=None)
    assert prod.access_log_on is True
    assert Settings.model_construct(env="production", access_log=False).access_log_on is False


# ---- behind a reverse proxy -------------------------------------------------------------------------
def test_proxy_settings_reach_sanic(tmp_path):
    from server.app import create_app

    app = create_app(Settings(_env_file=None, data_dir=tmp_path, proxies_count=1, real_ip_header="X-Real-IP",
                              forwarded_secret="s" * 24), name="kazuo_proxy_cfg")
    assert app.config.PROXIES_COUNT == 1
    assert app.config.REAL_IP_HEADER == "X-Real-IP"
    assert app.config.FORWARDED_SECRET == "s" * 24
    bare = create_app(Settings(_env_file=None, data_dir=tmp_path), name="kazuo_proxy_cfg_bare")
    assert bare.config.PROXIES_COUNT == 0 and bare.config.REAL_IP_HEADER is None
    assert bare.config.FORWARDED_SECRET is None


async def _login_limit_hits(ip: str) -> int:
    v = await kr.redis().get(kr.key("rl", "login", ip))
    return int(v) if v else 0


async def test_per_ip_limits_see_the_client_behind_the_proxy(app, client):
    code = lambda: client.post("/__sim__/wechat/login-code", json={"openid": "o-" + secrets.token_hex(6)})  # noqa: E731

    async def login_from(headers):
        r = await client.post("/api/v1/auth/wechat-login", json={"code": (await code()).json()["code"]},
                              headers=headers)
        assert r.status_code == 200, r.text

    # No proxy configured (the default): a client's X-Forwarded-For is ignored, the peer is counted.
    spoofed = "198.51.100.9"
    peer_before = await _login_limit_hits("127.0.0.1")
    await login_from({"X-Forwarded-For": spoofed})
    assert await _login_limit_hits(spoofed) == 0
    assert await _login_limit_hits("127.0.0.1") == peer_before + 1
    # One proxy (KAZUO_PROXIES_COUNT=1): the address that proxy appended is the client's.
    app.config.PROXIES_COUNT = 1
    try:
        await login_from({"X-Forwarded-For": f"{spoofed}, 203.0.113.7"})
        assert await _login_limit_hits("203.0.113.7") == 1
        assert await _login_limit_hits(spoofed) == 0
    finally:
        app.config.PROXIES_COUNT = 0


async def test_alerts_and_the_worker_heartbeat_are_scraped(client):
    from server.alerts import service as alerts
    from server.models.payments import ReconcileDifference

    figures = await scrape(client)
    for kind in alerts.KINDS:  # every kind is exposed, 0 while it does not hold
        assert ("kind", kind) in [k[0] for k in figures["kazuo_alerts"]], kind
    assert "kazuo_worker_heartbeat_age_seconds" in figures
    before = value(figures, "kazuo_alerts", kind="reconcile_difference")
    row = await ReconcileDifference.create(bill_date=clock.local_today(), kind="payment", ref="METRICS" + str(id(figures)),
                                           out_trade_no="", issue="missing_wechat", ours_fen=1, wechat_fen=None,
                                           ours_status="SUCCESS", wechat_status="", source="v3", resolution_note="")
    try:
        assert value(await scrape(client), "kazuo_alerts", kind="reconcile_difference") == before + 1
    finally:
        await row.delete()
