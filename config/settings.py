"""The one Settings object: environment variables (prefix KAZUO_) override config files; secrets only
from the environment. Every variable is documented in README.md and config/*.env.example."""
from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A misconfiguration, with a message that names the variable."""


# /pay refuses an order with less than this left before it expires: WeChat wants a prepay order to
# live at least a minute (time_expire - time_start), plus a few seconds for the round trips. The
# unpaid timeout's minimum leaves the buyer at least ORDER_PAY_WINDOW_MIN_SECONDS to pay after that.
ORDER_PAY_MARGIN_SECONDS = 70
ORDER_PAY_WINDOW_MIN_SECONDS = 110
ORDER_UNPAID_TIMEOUT_MIN_SECONDS = ORDER_PAY_MARGIN_SECONDS + ORDER_PAY_WINDOW_MIN_SECONDS  # 180
# Most units of one SKU in an order line, a cart item or a live buy: the request schemas' bound (so the
# OpenAPI states it) and the ceiling of KAZUO_ORDER_MAX_QUANTITY, which can only lower it.
ORDER_QUANTITY_MAX = 99


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAZUO_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    # Empty means the embedded default: SQLite under data_dir.
    database_url: str = ""
    # Empty means the embedded default: an in-process Redis-compatible store (fakeredis + lupa).
    redis_url: str = ""
    redis_prefix: str = "kz:"
    # Batched commands go on the kit's own connection (server/kit/redis.py: RESP written by hand,
    # replies read with hiredis; measured faster under a crowd). false: redis-py's own pipelines, the
    # library's standard path, e.g. after a redis-py upgrade that the canary test
    # (tests/platform/test_canaries.py) says changed what the wire relies on.
    redis_own_wire: bool = True
    # inline: the arq worker runs inside the server process; separate: `python -m server worker`.
    worker_mode: Literal["auto", "inline", "separate"] = "auto"

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # Connections the kernel queues before the server accepts them. Sanic's default (100) drops the
    # excess of a burst (a flash sale opening), and a dropped SYN is retried only after a second.
    backlog: int = Field(1024, ge=16, le=65535)
    # Requests taken up in the order they arrived, a slice per event-loop turn (server/kit/protocol.py;
    # measured under a flash sale). false: Sanic's own protocol as it comes, e.g. after a Sanic upgrade
    # that the canary test (tests/platform/test_canaries.py) says changed what it relies on.
    http_arrival_order: bool = True
    # Each response's count and latency added up in memory and written to the metrics once a second
    # (server/kit/metrics.py: count_request). false: prometheus-client's observe per response, the
    # library's standard path, e.g. after a prometheus-client upgrade that the canary test
    # (tests/platform/test_canaries.py) says changed the histogram's internals this relies on.
    metrics_batch: bool = True
    # Response headers with no CR, LF or NUL in them are sent as they are instead of going through
    # Sanic's per-character translate (server/kit/context.py). false: Sanic's own sanitising, e.g.
    # after a Sanic upgrade that the canary test (tests/platform/test_canaries.py) says changed it.
    http_fast_headers: bool = True
    # The standalone worker's CPU priority below the HTTP server's (nice, 0-19; 0 = the same). Jobs
    # wait a little during a burst instead of taking CPU from the buyers' answers.
    worker_nice: int = Field(10, ge=0, le=19)
    # ---- surviving faults (issue #18: jobs/worker.py supervision, /readyz, shutdown) ----------------
    # The worker writes a heartbeat to Redis this often (seconds)...
    worker_heartbeat_seconds: float = Field(5.0, gt=0, le=300)
    # ...and /readyz fails when the newest heartbeat is older than this (seconds).
    worker_heartbeat_max_age_seconds: float = Field(30.0, gt=0, le=3600)
    # On SIGTERM/SIGINT the worker takes no new jobs and lets running ones finish this long (seconds);
    # jobs still running then are cancelled and left to arq's retry.
    worker_stop_grace_seconds: float = Field(20.0, ge=0, le=600)
    # After a Redis or database error the worker starts again after a delay that doubles up to this.
    worker_restart_max_delay_seconds: float = Field(30.0, ge=0.1, le=600)
    # On stop the server takes no new connections and lets in-flight requests finish this long (seconds)
    # before it closes the database and Redis.
    server_stop_grace_seconds: float = Field(10.0, ge=0, le=600)
    # The minutely sweepers (paid orders without a warehouse task, unpaid orders past their expiry,
    # prepay queries, refunds) run every this many seconds (a divisor of 60).
    sweep_every_seconds: int = Field(60, ge=1, le=60)
    # How WeChat/Aliyun (or the simulators) reach us, for notify URLs; default http://host:port.
    public_base_url: str = ""
    log_level: str = "INFO"
    # The JSON access log (request id, route, status, duration, user id, client address), one line per
    # request on stderr. Unset: on in production, off otherwise.
    access_log: bool | None = None
    # Behind a reverse proxy (README "Behind a reverse proxy"): Sanic's PROXIES_COUNT (how many proxies
    # append to X-Forwarded-For; 0 = the header is ignored), REAL_IP_HEADER (a header the proxy sets to
    # the client's address, e.g. X-Real-IP) and FORWARDED_SECRET (the secret= of RFC 7239 Forwarded
    # headers). Per-IP limits and logs see the client's address only through these; unset, they see
    # the peer (the proxy) and forwarded headers from clients are ignored.
    proxies_count: int = Field(0, ge=0, le=10)
    real_ip_header: str = Field("", pattern=r"^[A-Za-z0-9-]*$")
    forwarded_secret: SecretStr | None = None
    # ---- operations (issue #21: metrics, error reporting, media storage) ------------------------
    # Bearer token of GET /metrics. Production: required (without it /metrics answers 401 to all);
    # elsewhere /metrics is open unless it is set.
    metrics_token: SecretStr | None = None
    # Where `serve` and `worker` processes on one host share their counters (prometheus-client's
    # multiprocess files); empty: {data_dir}/metrics.
    metrics_dir: Path | None = None
    # Sentry (or a compatible service) DSN: errors are reported there when set; off when empty.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str = ""
    sentry_traces_sample_rate: float = Field(0.0, ge=0, le=1)
    seed_demo_on_first_run: bool = True

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "kazuo-pavilion"
    jwt_audience: str = "kazuo-miniprogram"
    jwt_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)

    # auto: simulators on when no real WeChat/Aliyun credentials are configured.
    simulators: Literal["auto", "on", "off"] = "auto"

    wechat_app_id: str = "wx0000000000kazuo"
    wechat_app_secret: SecretStr | None = None
    wechat_mch_id: str = "1900000109"
    wechat_pay_api_key: SecretStr | None = None
    # Override the API hosts (the simulators set these to our own /__sim__ routes).
    wechat_api_base: str = ""
    wechat_pay_api_base: str = ""
    # One WeChat API call (login, messages, shipping, codes) gives up after this many seconds,
    # the wait for a thread of the WeChat pool included (a call's 5 s timeout, the access-token fetch
    # and the one retry wechatpy's auto_retry may add all fit).
    wechat_deadline_seconds: float = Field(20.0, gt=0, le=60)
    # The mini-program version a mini-program code (wxacode.getUnlimited) opens: release (正式版),
    # trial (体验版) or develop (开发版). Codes are made with check_path=false, so they work before
    # the page is published.
    wechat_wxacode_env_version: Literal["release", "trial", "develop"] = "release"

    aliyun_access_key_id: str = "LTAIkazuoSimulator"
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_region: str = "cn-hangzhou"
    aliyun_endpoint: str = ""
    aliyun_sms_sign_name: str = "喀左特色馆"
    aliyun_sms_template_code: str = "SMS_000000001"

    sms_code_ttl_seconds: int = Field(300, ge=30)
    sms_code_max_attempts: int = Field(5, ge=1)
    sms_per_phone_per_minute: int = Field(1, ge=1)
    sms_per_phone_per_day: int = Field(10, ge=1)
    login_rate_per_minute: int = Field(30, ge=1)

    # ---- training and incubation (issue #8: server/training) ----------------------------------
    # Sign-in QR key (HMAC). Unset: derived from the JWT key (dev/simulator), so it needs no setup.
    training_signin_secret: SecretStr | None = None
    # A QR payload belongs to a time window of this many seconds; the current and previous window
    # are accepted, so a payload lives at most twice this long.
    training_qr_window_seconds: int = Field(120, ge=15, le=3600)
    # The county's targets in person-times (人次) by track (DOMAIN.md); JSON to override.
    training_targets: dict[str, int] = Field(default_factory=lambda: {
        "basic": 3500, "intermediate": 1500, "advanced": 500, "cadre": 300, "cross_border": 100,
        "livestream": 200, "lecturer": 30})
    # Of the basic track: registered poor households (建档立卡贫困户).
    training_target_basic_poor: int = Field(1000, ge=0)
    # 电商能手: a trainee whose net sales since their first training reach this (fen).
    training_expert_gmv_fen: int = Field(1_000_000, ge=1)
    # Milestone "first month over a GMV threshold" (fen, one Asia/Shanghai calendar month).
    training_month_gmv_fen: int = Field(500_000, ge=1)
    # ---- village stations and O2O pickup (issue #5: server/stations) ---------------------------
    # Pickup QR signing key (HMAC-SHA256). Unset: derived from the JWT key, so it needs no setup.
    pickup_qr_secret: SecretStr | None = None
    # Days a parcel waits at the station before it goes back and the buyer is refunded.
    pickup_return_days: int = Field(7, ge=1, le=60)
    # Reminders to the buyer, hours after arrival.
    pickup_reminder_hours: list[int] = Field(default_factory=lambda: [24, 48])
    # Anti-guessing: wrong codes per staff account per station, and per station (then locked).
    pickup_staff_wrong_limit: int = Field(5, ge=1)
    pickup_staff_wrong_window_seconds: int = Field(600, ge=10)
    pickup_station_wrong_limit: int = Field(20, ge=1)
    pickup_station_wrong_window_seconds: int = Field(3600, ge=60)
    # WeChat subscribe-message template and Aliyun SMS template for "your parcel has arrived".
    wechat_pickup_template_id: str = "kazuo-pickup-ready-template"
    wechat_pickup_page: str = "pages/order/detail"
    aliyun_sms_pickup_template_code: str = "SMS_000000005"

    # ---- SMS codes, phone binding, Aliyun gateway (issue #2: server/accounts/sms.py, miniprogram_api/phone.py) ----
    # Per-IP and per-user caps on code sends (on top of the per-phone 1/minute, 10/day).
    sms_per_ip_per_hour: int = Field(300, ge=1)
    sms_per_user_per_hour: int = Field(10, ge=1)
    phone_bind_per_ip_per_hour: int = Field(300, ge=1)
    # Read timeout of one Aliyun API call (the SDK runs in a thread; auto-retry is off).
    aliyun_timeout_seconds: float = Field(10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _check_secrets_filled(self) -> "Settings":
        # A .env copied from config/production.env.example must not run on its placeholders.
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
                if not text.strip() or "CHANGE_ME" in text:
                    raise ValueError(f"KAZUO_{name.upper()} is empty or still the CHANGE_ME placeholder")
        return self

    # ---- merchants, catalog and media (issue #3: server/catalog, server/merchants, server/media) --
    # A SKU or product with this many units or fewer shows as "low" (少量库存), never the count.
    catalog_low_stock: int = Field(10, ge=1, le=10_000)
    # Redis TTLs of the consumer reads; every change also invalidates them at once.
    catalog_list_ttl: int = Field(60, ge=1, le=3600)
    catalog_detail_ttl: int = Field(300, ge=1, le=3600)
    # A few seconds of in-process cache in front of Redis, dropped through Redis pub/sub on change.
    catalog_local_cache: bool = True
    # Where uploaded media is served from; empty: {public base URL}/media (the app's static route).
    media_base_url: str = ""
    media_image_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=11 * 1024 * 1024)

    # ---- media on Aliyun OSS (issue #21: server/integrations/oss.py) ---------------------------
    # Where uploads live: local (KAZUO_DATA_DIR/media, served at /media: one host) or oss (Aliyun OSS,
    # shared by every host). auto: oss when KAZUO_OSS_BUCKET is set, else local.
    media_storage: Literal["auto", "local", "oss"] = "auto"
    # OSS endpoint, e.g. https://oss-cn-hangzhou-internal.aliyuncs.com; empty with simulators on: the
    # built-in OSS simulator (bucket kazuo-oss-sim).
    oss_endpoint: str = ""
    oss_bucket: str = Field("", pattern=r"^([a-z0-9][a-z0-9-]{1,61}[a-z0-9])?$")
    # Credentials of the OSS calls; empty: the Aliyun AccessKey (KAZUO_ALIYUN_ACCESS_KEY_ID/_SECRET).
    oss_access_key_id: str = ""
    oss_access_key_secret: SecretStr | None = None
    # Lifetime of a signed URL of a private document (merchant licences, training archives), seconds.
    media_private_url_ttl_seconds: int = Field(600, ge=30, le=7 * 86400)
    oss_timeout_seconds: float = Field(10.0, gt=0, le=120)

    # ---- county statistics and the big screen (issue #10: server/stats) ------------------------
    # Plan targets: yearly growth of rural online sales and of farm products online (percent).
    stats_sales_growth_target_pct: int = Field(20, ge=0, le=1000)
    stats_farm_growth_target_pct: int = Field(30, ge=0, le=1000)
    # Coverage denominators: 22 towns; about 164 administrative villages (139 planned stations =
    # 85%); registered poor villages (0 = those marked on stations, when the county list is not set).
    stats_towns_total: int = Field(22, ge=1, le=10_000)
    stats_villages_total: int = Field(164, ge=1, le=100_000)
    stats_poor_villages_total: int = Field(0, ge=0, le=100_000)
    stats_coverage_targets_pct: dict[str, int] = Field(default_factory=lambda: {
        "towns": 100, "villages": 85, "poor_villages": 100})
    # The rollup cron recomputes yesterday and today every this many minutes.
    stats_rollup_every_minutes: int = Field(10, ge=1, le=60)
    # The big screen's live figures are cached this long (seconds) in Redis: every screen shares them.
    stats_screen_cache_seconds: int = Field(2, ge=1, le=60)
    # The console's Today page: its queue counts and today's figures are recounted at most this often
    # (seconds, shared in Redis); its fault alerts are always read live.
    office_today_cache_seconds: int = Field(5, ge=1, le=60)
    # The statistics page's summary (a range of daily rollups, coverage, training progress) is kept this
    # long (seconds); past it, or once a day was rolled up again, it is shown while it is summed again.
    stats_summary_cache_seconds: int = Field(60, ge=1, le=3600)
    stats_screen_poll_seconds: int = Field(3, ge=1, le=300)

    # ---- orders, WeChat Pay, refunds, settlement ledger (issue #4: server/orders, payments, ledger) ----
    # Unpaid orders are cancelled (stock back) this long after checkout (default 15 minutes; at least
    # 180 s: /pay needs 70 s left on the order, see ORDER_PAY_MARGIN_SECONDS).
    order_unpaid_timeout_seconds: int = Field(900, ge=ORDER_UNPAID_TIMEOUT_MIN_SECONDS, le=7 * 86400)
    # A courier order the buyer has not confirmed is completed this many days after the courier took
    # its last parcel (自动确认收货).
    auto_confirm_days: int = Field(10, ge=1, le=90)
    order_max_lines: int = Field(20, ge=1, le=100)
    order_max_quantity: int = Field(ORDER_QUANTITY_MAX, ge=1, le=ORDER_QUANTITY_MAX)
    checkout_rate_per_minute: int = Field(30, ge=1)
    cart_max_items: int = Field(50, ge=1, le=500)
    # Settlement: platform fee on every line, station service fee on pickup orders (basis points).
    # Only the defaults: the office's fee terms per merchant and station (server/settlement/terms.py)
    # take over from their effective date; a line keeps the fees in force when it was paid.
    platform_fee_bp: int = Field(500, ge=0, le=10_000)
    station_fee_bp: int = Field(200, ge=0, le=10_000)
    # Settlement (结算): a line's money is settleable this many days after its order completed
    # (0: at once), while no refund is open on it.
    settlement_hold_days: int = Field(7, ge=0, le=90)
    # Statement periods, in Asia/Shanghai: weekly (Monday 00:00 to Monday 00:00) or daily.
    settlement_period: Literal["weekly", "daily"] = "weekly"
    # Payouts (提现/打款): a WeChat transfer the payee has not confirmed this many hours after it was
    # made is cancelled and its money returns to the balance (WeChat itself closes it after 24 h).
    payout_confirm_hours: int = Field(24, ge=1, le=24)
    # The bank batch file's columns, in order, as 列名:field pairs (fields: name, account, bank, branch,
    # amount, remark); the bank's result file has the same columns plus status and message ones.
    payout_bank_columns: str = "户名:name,账号:account,开户行:bank,支行:branch,金额(元):amount,备注:remark"
    # The bank's result file: the titles of its status and message columns (after the columns above).
    payout_bank_result_columns: str = "状态:status,说明:message"
    # The bank's result file: status words meaning the line was paid (case-insensitive).
    payout_bank_success_words: list[str] = Field(default_factory=lambda: ["成功", "SUCCESS", "已成功"])
    # The bank's result file: status words meaning the line was not paid (its money returns to the balance).
    payout_bank_failure_words: list[str] = Field(default_factory=lambda: ["失败", "FAIL", "FAILED", "退回"])
    # Statement PDFs are the statement page printed by headless Chromium (Debian packages chromium and
    # fonts-wqy-zenhei for the Chinese text): the browser's path.
    pdf_chromium_path: str = "/usr/bin/chromium"
    # How long one statement PDF may take to print (seconds) before the request is refused with a 503.
    pdf_timeout_seconds: int = Field(30, ge=1, le=300)
    wechat_pay_notify_path: str = "/api/v1/pay/wechat/notify"
    wechat_pay_refund_notify_path: str = "/api/v1/pay/wechat/refund-notify"

    # ---- WeChat Pay API version and keys (issue #20: server/integrations/wechatpay*.py) ----------
    # The one merchant account speaks APIv3 (new merchants get only v3) or, behind this, API v2.
    wechat_pay_api_version: Literal["v3", "v2"] = "v3"
    # Path of the APIv3 payment notification (JSON, signed by WeChat Pay; v2 keeps its XML paths above).
    wechat_pay_v3_notify_path: str = "/api/v1/pay/wechat/v3/notify"
    # Path of the APIv3 refund notification.
    wechat_pay_v3_refund_notify_path: str = "/api/v1/pay/wechat/v3/refund-notify"
    # Path of the APIv3 transfer (商家转账) notification.
    wechat_pay_v3_transfer_notify_path: str = "/api/v1/pay/wechat/v3/transfer-notify"
    # APIv3: the merchant API private key (apiclient_key.pem, PEM text; environment only). Unset in
    # simulator mode: the simulator's merchant key (generated once under data_dir) stands in.
    wechat_pay_mch_private_key: SecretStr | None = None
    # APIv3: the serial number of the merchant API certificate (商户API证书序列号).
    wechat_pay_mch_cert_serial: str = ""
    # APIv3 key (32 bytes): decrypts notifications and downloaded platform certificates.
    wechat_pay_apiv3_key: SecretStr | None = None
    # Key mode 1 (公钥模式, new merchants): the WeChat Pay public key, PEM text.
    wechat_pay_public_key: str = ""
    # Key mode 1: the WeChat Pay public key's id (PUB_KEY_ID_...).
    wechat_pay_public_key_id: str = ""
    # Key mode 2 (platform certificates), used when no public key is set: certificates are downloaded
    # from /v3/certificates, several kept (rotation) and picked by serial; cached in this directory.
    wechat_pay_platform_cert_dir: str = ""
    # Simulator only: the key mode of the simulated merchant account (public_key | platform_cert).
    wechat_pay_sim_key_mode: Literal["public_key", "platform_cert"] = "public_key"
    # APIv3 notifications whose Wechatpay-Timestamp is further than this from our clock are refused.
    wechat_pay_notify_max_skew_seconds: int = Field(300, ge=30, le=3600)
    # Seconds one WeChat Pay call may take, its wait for a thread of the vendor pool included.
    wechat_pay_timeout_seconds: float = Field(8.0, gt=0, le=60)
    # 商家转账 scene (转账场景ID) of transfers to a WeChat balance.
    wechat_pay_transfer_scene_id: str = "1005"
    # v2 only: the merchant API certificate for /secapi/ (refunds): a PKCS#12 file (apiclient_cert.p12)
    # or a PEM certificate (apiclient_cert.pem) with KAZUO_WECHAT_PAY_V2_KEY_PATH.
    wechat_pay_v2_cert_path: str = ""
    # v2 only: the PEM key file of a PEM merchant certificate (apiclient_key.pem).
    wechat_pay_v2_key_path: str = ""
    # v2 only: the PKCS#12 password (unset: the merchant id, as WeChat issues it).
    wechat_pay_v2_cert_password: SecretStr | None = None
    # v2 only: the /secapi/ base when it differs from the API base (the simulator: its TLS port).
    wechat_pay_v2_secapi_base: str = ""
    # Simulator only: the TLS port of the v2 simulator's /secapi/ (client certificate required); 0 = any.
    wechat_pay_sim_tls_port: int = Field(0, ge=0, le=65535)
    # No notification this long after a prepay order: ask WeChat (order.query).
    wechat_pay_query_after_seconds: int = Field(60, ge=5)
    # Simulator only: delays (seconds) before each retry of a notification we did not acknowledge;
    # WeChat's own schedule (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m in all).
    wechat_pay_sim_retry_seconds: list[float] = Field(default_factory=lambda: [
        15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600])

    # ---- livestream commerce (issue #7: live/) -------------------------------------------------
    # Aliyun Live domains and app (推流域名 / 播流域名 / AppName).
    live_push_domain: str = "push.live.kazuo.example"
    live_play_domain: str = "play.live.kazuo.example"
    live_app_name: str = Field("kazuo", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    # Type-A URL auth keys, primary and backup (Aliyun accepts either, so keys rotate without a gap).
    # Unset in simulator mode: fixed simulator keys from live/signing.py stand in.
    live_push_auth_key: SecretStr | None = None
    live_push_auth_key_backup: SecretStr | None = None
    live_play_auth_key: SecretStr | None = None
    live_play_auth_key_backup: SecretStr | None = None
    live_push_url_ttl_seconds: int = Field(6 * 3600, ge=60, le=7 * 86400)
    live_play_url_ttl_seconds: int = Field(3600, ge=60, le=86400)
    # Key for the ALI-LIVE-SIGNATURE header of publish callbacks; unset = not verified (simulator
    # mode uses a fixed key so the check always runs there).
    live_callback_key: SecretStr | None = None
    live_callback_max_skew_seconds: int = Field(300, ge=10)
    # An order can still name a session as its source this long after it ends (shared link, code).
    live_attribution_window_hours: int = Field(24, ge=0, le=24 * 30)
    live_default_per_buyer_limit: int = Field(5, ge=1, le=1000)
    # A live session whose stream is missing from the online list this long is ended by reconcile.
    live_reconcile_grace_seconds: int = Field(120, ge=10)

    # ---- fulfilment and logistics (issue 6: county warehouse, 县→乡→村, WMS) ------------------
    # Parcels packed before this local (Asia/Shanghai) time reach their town the same day.
    fulfillment_same_day_cutoff: str = Field("16:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    fulfillment_town_village_hours: int = Field(24, ge=1, le=240)
    fulfillment_county_village_hours: int = Field(48, ge=1, le=480)
    # The handoff sweeper leaves a paid order this long to its own job before re-enqueuing it.
    fulfillment_handoff_grace_seconds: int = Field(60, ge=0)
    # Outbound WMS webhook (empty: the warehouse uses our operations API, nothing is sent).
    wms_webhook_url: str = ""
    wms_secret: SecretStr | None = None
    wms_max_skew_seconds: int = Field(300, ge=10, le=3600)
    wms_timeout_seconds: float = Field(5.0, gt=0, le=60)

    # ---- product traceability (issue #9: server/trace) -----------------------------------------
    # An item code (一物一码) scanned more than this many times is flagged as a possible counterfeit.
    trace_flag_scan_count: int = Field(20, ge=2, le=100_000)
    # ...or scanned this far apart (km) within trace_far_hours (faster than goods travel).
    trace_far_km: float = Field(300.0, ge=1, le=5000)
    # The window (hours) of the far-apart check (also: 3 different cities within it).
    trace_far_hours: float = Field(6.0, gt=0, le=24 * 30)
    # Scans counted per client IP per minute (more are still answered, not counted).
    trace_scans_per_ip_per_minute: int = Field(60, ge=1)
    # Item codes one request may issue (label sheets print 40 per A4 page).
    trace_item_codes_per_request: int = Field(2000, ge=1, le=20_000)
    # The public view of a batch is cached this long (seconds); every change drops it at once.
    trace_page_cache_seconds: int = Field(60, ge=1, le=3600)
    # Inbound SMS push (上行短信): HMAC-SHA256 key of the X-Kazuo-Signature header; unset = not checked.
    trace_sms_inbound_key: SecretStr | None = None
    # SMS answers per phone per hour (a texted lookup costs one outbound SMS).
    trace_sms_answers_per_phone_per_hour: int = Field(10, ge=1)
    # Aliyun SMS template of the lookup answer (溯源查询结果: ${code} ${product} ${batch} ${status}).
    aliyun_sms_trace_template_code: str = "SMS_000000009"
    # Aliyun SMS template of the recall notice (召回通知: ${product} ${batch} ${order}).
    aliyun_sms_recall_template_code: str = "SMS_000000010"
    # WeChat subscribe-message template of the recall notice, and the page it opens.
    wechat_recall_template_id: str = "kazuo-recall-template"
    wechat_recall_page: str = "pages/order/detail"

    # ---- complaints and reports (issue #26: server/complaints) ---------------------------------
    # The office acknowledges a complaint within this many hours and resolves it within this many
    # days of its filing; a complaint past either is flagged as a breach (the sweeper, every 5 min).
    complaint_ack_hours: int = Field(24, ge=1, le=24 * 30)
    complaint_resolve_days: int = Field(7, ge=1, le=365)
    # Anonymous reports from a trace page: per client network (IPv4 /24) per hour, and per trace
    # code per day. Signed-in buyers: complaints per buyer per day.
    complaint_public_per_ip_per_hour: int = Field(5, ge=1)
    complaint_public_per_code_per_day: int = Field(20, ge=1)
    complaint_per_buyer_per_day: int = Field(10, ge=1)
    # Photos of one complaint (each checked as any photo: KAZUO_MEDIA_IMAGE_MAX_BYTES).
    complaint_max_photos: int = Field(3, ge=0, le=9)
    # The outcome told to the reporter: WeChat subscribe message (template and page) or, for a
    # reporter known by phone only, an Aliyun SMS (投诉处理结果: ${no} ${outcome}).
    wechat_complaint_outcome_template_id: str = "kazuo-complaint-outcome-template"
    wechat_complaint_outcome_page: str = "pages/complaint/detail"
    aliyun_sms_complaint_template_code: str = "SMS_000000026"
    # ---- first-mile collection notices (#26 gap: server/notify/outbox.py collection_received) ----
    # Subscribe-message template of "your collection was received at the county warehouse" (to the
    # household's account).
    wechat_collection_received_template_id: str = "kazuo-collection-received-template"
    # The mini-program page that message opens (?id=<collection>).
    wechat_collection_page: str = "pages/collection/detail"
    # Aliyun SMS to the producer's contact phone when no subscribe message reached the household
    # (揽收货品已入县仓: ${label} ${qty}).
    aliyun_sms_collection_template_code: str = "SMS_000000031"

    # ---- faults survived: pools, refund retries, reconciliation, alerts (issue #18) ------------
    # Threads of each vendor's own pool (WeChat, WeChat Pay, Aliyun SMS, Aliyun Live, ...): a slow
    # vendor fills only its own pool. A call's deadline counts its wait for a thread.
    vendor_pool_threads: int = Field(4, ge=1, le=64)
    # Threads for CPU work (QR codes, label sheets, image decoding, zips).
    cpu_pool_threads: int = Field(2, ge=1, le=64)
    # A refund WeChat could not take (network, HTTP 5xx, SYSTEMERROR) is tried again after
    # base * 2^(attempts-1) seconds, at most max seconds apart; it is never given up on by itself.
    refund_retry_base_seconds: float = Field(30.0, gt=0, le=3600)
    refund_retry_max_seconds: float = Field(3600.0, gt=0, le=86400)
    # The daily reconciliation with WeChat Pay's trade bill runs at this Asia/Shanghai hour (WeChat
    # publishes the day before's bill from about 10:00).
    reconcile_hour_local: int = Field(11, ge=0, le=23)
    # Alerts: a paid order with no warehouse task this long; an order pending this long past its
    # expiry (a stale worker heartbeat: KAZUO_WORKER_HEARTBEAT_MAX_AGE_SECONDS, as /readyz).
    alert_handoff_after_seconds: int = Field(300, ge=30)
    alert_expired_pending_after_seconds: int = Field(120, ge=0)

    # ---- the web console (issue #22: server/kit/sessions.py, server/accounts/console.py, server/console_web) ----
    # A console session ends after this long without a request, and this long after sign-in at most.
    console_session_idle_seconds: int = Field(8 * 3600, ge=60)
    console_session_absolute_seconds: int = Field(7 * 86400, ge=300)
    # At most this many console page reads (GET) are worked on at once in a process; the others wait
    # their turn in arrival order. Past it, each page's reads only queue behind the others' (a page with
    # a second database wave waited twice) and add no throughput to a busy process.
    console_pages_at_once: int = Field(8, ge=1, le=1000)
    # Sign-in attempts (code requests and code checks) per client address per hour, and per phone.
    console_signin_per_ip_per_hour: int = Field(60, ge=1)
    console_signin_per_phone_per_hour: int = Field(20, ge=1)
    # A scan-to-sign-in ticket (the mini-program code on the login page) lives this long (seconds).
    console_scan_ticket_seconds: int = Field(120, ge=10, le=600)
    # The mini-program page a scan opens (it confirms the sign-in with the ticket in its scene).
    console_scan_page: str = "pages/console/confirm"

    # ---- address book and freight (issue #25: server/addresses, server/freight, server/orders/pricing.py) ----
    # Saved delivery addresses per buyer (收货地址).
    address_book_max: int = Field(20, ge=1, le=100)
    # A SKU without a weight (weight_g 0) counts as this many grams in a by-weight freight template.
    freight_default_weight_g: int = Field(500, ge=1, le=100_000)
    # The office's limits on a merchant's own template (fen): a zone's first charge, each further
    # step, and the cold-chain surcharge may not exceed them.
    freight_merchant_max_first_fen: int = Field(3000, ge=0)
    freight_merchant_max_step_fen: int = Field(2000, ge=0)
    freight_merchant_max_cold_fen: int = Field(3000, ge=0)
    # ---- promotions: coupons and festival campaigns (issue #28: server/promotions) ----------------
    # The mini-program's campaign page is cached this long (seconds) at most, and never past the
    # campaign's start or end; every campaign edit invalidates it at once.
    promotions_page_cache_seconds: int = Field(60, ge=1, le=3600)
    # ---- after-sales (售后, issue #25: server/aftersales) -------------------------------------------
    # Windows after completion unless the office set one for the category: fresh produce (a
    # cold-chain line, or a category listed here by slug) and everything else.
    aftersales_fresh_window_hours: int = Field(48, ge=1, le=24 * 90)
    aftersales_other_window_hours: int = Field(7 * 24, ge=1, le=24 * 90)
    aftersales_fresh_category_slugs: str = "produce"
    # "Not received" may be claimed once the delivery promise is breached by this many hours.
    aftersales_not_received_grace_hours: int = Field(24, ge=0, le=24 * 30)
    # The merchant answers within this many hours; silence approves.
    aftersales_merchant_answer_hours: int = Field(48, ge=1, le=24 * 30)
    # The buyer ships a return within this many days of approval; after that the case closes.
    aftersales_return_ship_days: int = Field(7, ge=1, le=60)
    # WeChat subscribe-message template of after-sales updates, and the page it opens.
    wechat_aftersales_template_id: str = "kazuo-aftersales-template"
    wechat_aftersales_page: str = "pages/aftersales/detail"
    # Aliyun SMS template for an after-sales step needing the buyer (${case} ${step}).
    aliyun_sms_aftersales_template_code: str = "SMS_000000025"
    # ---- pre-sale (预售, issue #28: server/presale) ----
    # A deposit order whose balance is not paid by its deadline is cancelled; its deposit is then kept
    # (定金不退, false) or given back to the buyer (true).
    presale_refund_deposit_on_default: bool = False
    # The deposit is at most this share of the pre-sale price (percent).
    presale_deposit_max_percent: int = Field(50, ge=1, le=100)
    # Subscribe-message template of "the balance window of your pre-sale order is open" (尾款支付提醒,
    # server/notify/registry.py): sent once per deposit order by the pre-sale sweep.
    wechat_presale_balance_template_id: str = "kazuo-presale-balance-template"
    # ---- sharing and notifications (issue #29: server/sharing, server/notify/outbox.py) ----
    # Subscribe-message template (WeChat admin, 订阅消息) of "your order is paid" (server/notify/registry.py).
    wechat_order_paid_template_id: str = "kazuo-order-paid-template"
    # Subscribe-message template of "your order left the county warehouse for your pickup station".
    wechat_order_dispatched_template_id: str = "kazuo-order-dispatched-template"
    # Subscribe-message template of "your order is out for delivery" (送货上门).
    wechat_out_for_delivery_template_id: str = "kazuo-out-for-delivery-template"
    # Subscribe-message template of a refund's outcome (succeeded, rejected, failed).
    wechat_refund_result_template_id: str = "kazuo-refund-result-template"
    # Subscribe-message template of "the live session you booked is starting" (直播预约提醒).
    wechat_live_starting_template_id: str = "kazuo-live-starting-template"
    # The mini-program page the order messages open (?id=<order>).
    wechat_order_page: str = "pages/order/detail"
    # The mini-program page the refund message opens (?id=<order>&refund=<refund>).
    wechat_refund_page: str = "pages/order/refund"
    # The mini-program page the live reminder opens (?sid=<session>).
    wechat_live_page: str = "pages/live/session"
    # Aliyun SMS template for a refund that needs the buyer (退款失败，请联系客服: ${order} ${amount}),
    # sent only when the buyer has no subscription to the refund template.
    aliyun_sms_refund_template_code: str = "SMS_000000029"
    # A booked live preview is reminded this many minutes before its scheduled start (or when it goes live).
    live_reminder_lead_minutes: int = Field(10, ge=1, le=24 * 60)
    # A notification is given up after this many failed deliveries (then kept as failed for the office).
    notify_max_attempts: int = Field(8, ge=1, le=100)
    # The county brand line printed on share posters.
    share_brand_line: str = "喀左特色馆 · 喀左县区域公共品牌"
    # The mini-program page a product share (poster code, share card) opens (?id=<product>&share=<share>).
    share_product_page: str = "pages/product/detail"

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.env == "production":
            missing = self.production_problems()
            if missing:
                raise ValueError("production mode needs: " + ", ".join(missing))
        if 60 % self.sweep_every_seconds:
            raise ValueError("KAZUO_SWEEP_EVERY_SECONDS must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, "
                             "30, 60)")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("KAZUO_JWT_SECRET must be at least 32 bytes")
        return self

    def production_problems(self) -> list[str]:
        """Every rule production start-up enforces that these settings break (empty: none), one
        entry per rule, naming the variable; `python -m server check` lists them as they are."""
        missing = []
        if not self.database_url.startswith(("postgres://", "asyncpg://", "postgresql://")):
            missing.append("KAZUO_DATABASE_URL (a postgres:// URL)")
        if not self.redis_url:
            missing.append("KAZUO_REDIS_URL")
        if self.jwt_secret is None:
            missing.append("KAZUO_JWT_SECRET")
        if self.simulators == "on":
            missing.append("KAZUO_SIMULATORS must not be 'on'")
        for name in ("wechat_app_secret", "aliyun_access_key_secret"):
            if getattr(self, name) is None:
                missing.append("KAZUO_" + name.upper())
        return missing + self._production_refusals() + self._missing_payment_keys()

    def _production_refusals(self) -> list[str]:
        """What would fail later in production, refused at start (issue #20): inbound keys that
        leave a request unsigned, a public URL WeChat and Aliyun cannot call back safely, and ids
        still holding the simulator's value."""
        out = []
        # Unset, an Aliyun Live publish callback would be accepted unsigned (it can end a session
        # mid-sale) and an unsigned SMS push would make us text any number.
        for name in ("live_callback_key", "trace_sms_inbound_key"):
            if getattr(self, name) is None:
                out.append("KAZUO_" + name.upper())
        try:
            url = urlsplit(self.public_base_url)
            scheme, host = url.scheme, (url.hostname or "").lower()
        except ValueError:  # e.g. an unclosed [IPv6 bracket
            scheme, host = "", ""
        if scheme != "https" or not host or _loopback(host):
            out.append("KAZUO_PUBLIC_BASE_URL (an https:// URL that is not a loopback address)")
        fields = type(self).model_fields
        # Every message template (WeChat *_template_id, Aliyun SMS *_template_code) counts, so a
        # moment added later is covered without touching this list.
        templates = [n for n in fields if n.endswith(("_template_id", "_template_code"))]
        for name in dict.fromkeys([*SIMULATOR_IDS, *templates]):
            value = getattr(self, name)
            if value == fields[name].default:
                out.append(f"KAZUO_{name.upper()} (still the simulator's {fields[name].default!r})")
            elif not value.strip() or "CHANGE_ME" in value:
                out.append(f"KAZUO_{name.upper()} (empty or still the CHANGE_ME placeholder)")
        return out

    def _missing_payment_keys(self) -> list[str]:
        """Production: the keys the chosen WeChat Pay API version cannot work without (issue #20)."""
        if self.wechat_pay_api_version == "v2":
            missing = [] if self.wechat_pay_api_key is not None else ["KAZUO_WECHAT_PAY_API_KEY"]
            if not self.wechat_pay_v2_cert_path:
                missing.append("KAZUO_WECHAT_PAY_V2_CERT_PATH (the merchant API certificate, for refunds)")
            elif (not self.wechat_pay_v2_cert_path.lower().endswith((".p12", ".pfx"))
                  and not self.wechat_pay_v2_key_path):
                missing.append("KAZUO_WECHAT_PAY_V2_KEY_PATH (the PEM key of KAZUO_WECHAT_PAY_V2_CERT_PATH)")
            return missing
        missing = []
        if self.wechat_pay_mch_private_key is None:
            missing.append("KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY")
        if not self.wechat_pay_mch_cert_serial or "CHANGE_ME" in self.wechat_pay_mch_cert_serial:
            missing.append("KAZUO_WECHAT_PAY_MCH_CERT_SERIAL")
        if "CHANGE_ME" in self.wechat_pay_public_key + self.wechat_pay_public_key_id:
            missing.append("KAZUO_WECHAT_PAY_PUBLIC_KEY and KAZUO_WECHAT_PAY_PUBLIC_KEY_ID (still CHANGE_ME)")
        if self.wechat_pay_apiv3_key is None:
            missing.append("KAZUO_WECHAT_PAY_APIV3_KEY")
        elif len(self.wechat_pay_apiv3_key.get_secret_value().encode()) != 32:
            missing.append("KAZUO_WECHAT_PAY_APIV3_KEY (32 bytes)")
        if bool(self.wechat_pay_public_key) != bool(self.wechat_pay_public_key_id):
            missing.append("KAZUO_WECHAT_PAY_PUBLIC_KEY and KAZUO_WECHAT_PAY_PUBLIC_KEY_ID (both)")
        elif not self.wechat_pay_public_key and not self.wechat_pay_platform_cert_dir:
            missing.append("KAZUO_WECHAT_PAY_PUBLIC_KEY + KAZUO_WECHAT_PAY_PUBLIC_KEY_ID, or "
                           "KAZUO_WECHAT_PAY_PLATFORM_CERT_DIR (platform certificates)")
        return missing

    # ---- first-mile collection (issue #26: server/collection, 村级揽收 → 乡镇 → 县仓) -------------
    # The heaviest single collection a station may record (kg); more is refused naming the field.
    collection_max_weight_kg: int = Field(5000, ge=1, le=100_000)
    # The most SKU units in one collection.
    collection_max_units: int = Field(20_000, ge=1, le=1_000_000)
    # ---- reviews and content (issue #30: server/reviews, server/content) ------------------------
    # Sensitive words (敏感词), comma-separated: a review or append containing one is held for the
    # office (not shown, not counted) until it is shown or hidden; a merchant's reply with one is refused.
    review_sensitive_words: str = Field("刷单,好评返现,加微信,代开发票,赌博,色情", max_length=20_000)
    # How long a buyer may review a completed line (days after the order completed).
    review_window_days: int = Field(90, ge=1, le=3650)
    # ---- gap-d: review replies, campaign shares (issues #29, #30) ----------------------------------
    # Subscribe-message template of "the merchant replied to your review" (商家回复评价提醒).
    wechat_review_reply_template_id: str = "kazuo-review-reply-template"
    # The mini-program page the review-reply message opens (?id=<review>&line=<order line>).
    wechat_review_page: str = "pages/review/detail"
    # The mini-program page a campaign share (poster code, share card) opens (?id=<campaign>&share=<share>).
    share_campaign_page: str = "pages/campaign/detail"

    # ---- derived ---------------------------------------------------------------------------
    @property
    def embedded_db(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")

    @property
    def media_backend(self) -> str:
        if self.media_storage == "auto":
            return "oss" if self.oss_bucket else "local"
        return self.media_storage

    @property
    def access_log_on(self) -> bool:
        return self.env == "production" if self.access_log is None else self.access_log

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def inline_worker(self) -> bool:
        if self.worker_mode == "auto":
            return self.embedded_redis
        return self.worker_mode == "inline"

    @property
    def simulators_on(self) -> bool:
        if self.simulators == "auto":
            return self.wechat_app_secret is None and self.aliyun_access_key_secret is None
        return self.simulators == "on"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url.replace("postgresql://", "postgres://", 1)
        return f"sqlite://{self.data_dir / 'kazuo.sqlite3'}"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def secret(self, name: str) -> str:
        """A secret's value; in simulator mode a fixed, documented simulator value stands in."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        if self.simulators_on:
            return SIMULATOR_SECRETS[name]
        raise ConfigError(f"KAZUO_{name.upper()} is not set")

    def jwt_key(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        # Development: a random secret kept under data_dir, so tokens survive restarts.
        path = self.data_dir / "jwt.secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


# Ids whose default is the simulator's value: production refuses to start while one still holds it.
# (Every *_template_id and *_template_code setting is checked the same way.)
SIMULATOR_IDS = ("wechat_app_id", "wechat_mch_id", "aliyun_access_key_id", "live_push_domain", "live_play_domain")


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


# Simulator credentials: public, only ever used against the built-in simulators.
SIMULATOR_SECRETS = {
    "wechat_app_secret": "kazuo-simulator-app-secret",
    "wechat_pay_api_key": "kazuosimulatorpaykey0123456789ab",
    "wechat_pay_apiv3_key": "kazuosimulatorapiv3key0123456789",
    "aliyun_access_key_secret": "kazuo-simulator-aliyun-secret",
    "wms_secret": "kazuo-simulator-wms-secret-0123456789",
}


def load_settings(**overrides) -> Settings:
    """Build Settings, turning a validation failure into a ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            name = f"KAZUO_{loc.upper()}" if loc else ""
            lines.append(f"{name}: {err['msg']}".lstrip(": "))
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
