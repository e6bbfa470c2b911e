"""Writes config/embedded.env.example and config/production.env.example from the Settings class:
every variable with its meaning and default. Run `python -m config.envdoc` after adding a setting
(tests/platform/test_config.py fails while a variable is missing from either file).

A setting's meaning is, in order: DESCRIPTIONS below, the comment right above the field in
config/settings.py, or the comment that heads its group of fields."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pydantic import SecretStr

from config.settings import SIMULATOR_SECRETS, Settings

HERE = Path(__file__).parent
PLACEHOLDER = "CHANGE_ME"

DESCRIPTIONS = {
    "env": "development | production | test. production refuses to start without PostgreSQL, Redis, "
           "a JWT secret and real WeChat/Aliyun credentials.",
    "data_dir": "Where local data lives: the SQLite file (embedded), uploaded media, the development JWT key.",
    "redis_prefix": "Prefix of every Redis key this deployment writes (share one Redis between deployments).",
    "host": "Address the HTTP server binds.",
    "port": "Port the HTTP server listens on.",
    "workers": "Sanic worker processes. More than 1 needs PostgreSQL and a Redis server (not the embedded default).",
    "log_level": "DEBUG | INFO | WARNING | ERROR (structured JSON logs on stderr).",
    "access_log": "The JSON access log, one line per request (request id, route, status, duration, user id, "
                  "client address): true | false; unset: on in production, off otherwise.",
    "proxies_count": "Behind a reverse proxy: how many proxies append to X-Forwarded-For (1 for the nginx site in "
                     "config/deploy/). 0: forwarded headers are ignored and the peer is the client.",
    "real_ip_header": "Behind a reverse proxy: a header the proxy sets to the client's address (e.g. X-Real-IP); "
                      "read before X-Forwarded-For.",
    "forwarded_secret": "Behind a reverse proxy: the secret= of RFC 7239 Forwarded headers the proxy adds (read "
                        "first when set).",
    "sentry_environment": "The environment name errors are filed under in Sentry (empty: KAZUO_ENV).",
    "sentry_traces_sample_rate": "Share of requests traced for Sentry's performance view (0: none).",
    "seed_demo_on_first_run": "Embedded default: load the demo data (stations, merchants, products) on the first start.",
    "jwt_secret": "HS256 key for access tokens, at least 32 random bytes. Unset (development only): a random "
                  "key is created under data_dir.",
    "jwt_issuer": "JWT iss claim (checked).",
    "jwt_audience": "JWT aud claim (checked).",
    "jwt_ttl_seconds": "Lifetime of an access token, seconds.",
    "wechat_app_id": "The mini-program's AppID.",
    "wechat_app_secret": "The mini-program's AppSecret (jscode2session, access tokens). Required in production.",
    "wechat_mch_id": "WeChat Pay merchant id (商户号).",
    "wechat_pay_api_key": "WeChat Pay API key (v2, 32 characters). Required in production when the API version "
                          "is v2.",
    "wechat_pay_api_base": "Override the WeChat Pay API host (the simulators set their own).",
    "aliyun_access_key_id": "Aliyun AccessKeyId (RAM user with SMS and Live permissions).",
    "aliyun_access_key_secret": "Aliyun AccessKeySecret. Required in production.",
    "aliyun_region": "Aliyun region id for the SDK.",
    "aliyun_endpoint": "Override the Aliyun API host for every product (http://host:port/path or a bare "
                       "https host). Empty: the simulator in simulator mode, else dysmsapi/live.aliyuncs.com.",
    "aliyun_sms_sign_name": "SMS signature (短信签名) approved in the Aliyun console.",
    "aliyun_sms_template_code": "SMS template for verification codes (验证码模板, one variable: ${code}).",
    "sms_code_ttl_seconds": "An SMS code is valid this many seconds.",
    "sms_code_max_attempts": "Wrong tries after which an SMS code is invalidated.",
    "sms_per_phone_per_minute": "SMS codes a phone can receive in any 60 seconds.",
    "sms_per_phone_per_day": "SMS codes a phone can receive in any 24 hours.",
    "login_rate_per_minute": "WeChat logins per client IP per minute.",
    "sms_per_ip_per_hour": "SMS code requests per client IP per hour.",
    "sms_per_user_per_hour": "SMS code requests per user per hour.",
    "phone_bind_per_ip_per_hour": "Phone-binding attempts per client IP per hour.",
    "aliyun_timeout_seconds": "Read timeout of one Aliyun API call, seconds (the SDK runs in a thread; no auto-retry).",
    # other capabilities' settings that share a comment with the field above them
    "pickup_staff_wrong_limit": "Pickup-code anti-guessing: wrong codes one staff account may enter at one station "
                                "per window before it is locked out.",
    "pickup_staff_wrong_window_seconds": "The window of KAZUO_PICKUP_STAFF_WRONG_LIMIT, seconds.",
    "pickup_station_wrong_limit": "Pickup-code anti-guessing: wrong codes per station (all staff) per window "
                                  "before the station's code entry is locked.",
    "pickup_station_wrong_window_seconds": "The window of KAZUO_PICKUP_STATION_WRONG_LIMIT, seconds.",
    "wechat_pickup_template_id": "WeChat subscribe-message template id for \"your parcel has arrived\".",
    "wechat_pickup_page": "Mini-program page the pickup message opens (the order id is appended).",
    "aliyun_sms_pickup_template_code": "Aliyun SMS template for \"your parcel has arrived\" (取件通知).",
    "live_push_domain": "Aliyun Live ingest domain (推流域名).",
    "live_play_domain": "Aliyun Live playback domain (播流域名).",
    "live_app_name": "Aliyun Live AppName of the pavilion's streams.",
    "live_push_auth_key": "Type-A URL auth key of the push domain (primary). Unset in simulator mode: a fixed "
                          "simulator key stands in.",
    "live_push_auth_key_backup": "Type-A URL auth key of the push domain (backup; either is accepted, so keys "
                                 "rotate without a gap).",
    "live_play_auth_key": "Type-A URL auth key of the playback domain (primary).",
    "live_play_auth_key_backup": "Type-A URL auth key of the playback domain (backup).",
    "live_push_url_ttl_seconds": "Lifetime of a signed push (ingest) URL, seconds.",
    "live_play_url_ttl_seconds": "Lifetime of a signed playback URL, seconds.",
    "live_callback_max_skew_seconds": "Largest accepted clock difference of an Aliyun Live callback "
                                      "(ALI-LIVE-TIMESTAMP), seconds.",
    "live_default_per_buyer_limit": "Default units of one on-air product a buyer may take in one session.",
    "fulfillment_town_village_hours": "Promise town centre -> village station, hours (plan: within 24 h).",
    "fulfillment_county_village_hours": "Promise county warehouse -> village station, hours (plan: within 48 h).",
    "wms_secret": "HMAC key of the WMS webhook and of the warehouse's calls to us.",
    "wms_max_skew_seconds": "Largest accepted timestamp difference of a signed WMS call, seconds.",
    "wms_timeout_seconds": "Timeout of one outbound WMS webhook call, seconds.",
    "order_max_lines": "Most lines in one order.",
    "order_max_quantity": "Most units of one SKU in one order line.",
    "checkout_rate_per_minute": "Checkouts per user per minute.",
    "cart_max_items": "Most distinct items in a cart.",
    "platform_fee_bp": "Settlement: platform fee on every line, basis points (1/10000).",
    "station_fee_bp": "Settlement: station service fee on pickup orders, basis points.",
    "wechat_pay_notify_path": "Path of the WeChat Pay payment notification (appended to KAZUO_PUBLIC_BASE_URL).",
    "wechat_pay_refund_notify_path": "Path of the WeChat Pay refund notification.",
    "catalog_list_ttl": "Redis TTL of cached consumer product lists, seconds (changes invalidate at once).",
    "catalog_detail_ttl": "Redis TTL of cached product details, seconds (changes invalidate at once).",
    "media_image_max_bytes": "Largest accepted image upload, bytes.",
}
# Values the production example sets (uncommented); secrets get the placeholder.
PRODUCTION = {
    "env": "production",
    "database_url": f"postgres://kazuo:{PLACEHOLDER}@127.0.0.1:5432/kazuo",
    "redis_url": "redis://127.0.0.1:6379/0",
    "host": "0.0.0.0",
    "workers": "2",
    "public_base_url": "https://api.kazuo.example",
    "simulators": "off",
    "proxies_count": "1",
    "seed_demo_on_first_run": "false",
    "wechat_app_id": "wx0123456789abcdef",
    "wechat_mch_id": "1900000000",
    "aliyun_access_key_id": "LTAI0000000000000000",
    # Production refuses to start while an id still holds the simulator's value (config/settings.py).
    **{name: PLACEHOLDER for name in Settings.model_fields
       if name.endswith(("_template_id", "_template_code")) or name in ("live_push_domain", "live_play_domain")},
    # WeChat Pay APIv3 (the default version), public key mode; v2's keys stay commented out.
    "wechat_pay_mch_cert_serial": PLACEHOLDER,
    "wechat_pay_public_key": PLACEHOLDER,
    "wechat_pay_public_key_id": PLACEHOLDER,
}
REQUIRED_SECRETS = {"jwt_secret", "wechat_app_secret", "aliyun_access_key_secret", "wechat_pay_mch_private_key",
                    "wechat_pay_apiv3_key", "live_callback_key", "trace_sms_inbound_key", "metrics_token"}
HEADERS = {
    "embedded": "Embedded default: nothing is required. `python -m server serve` runs on SQLite under\n"
                "KAZUO_DATA_DIR, an in-process Redis, the inline job worker and the WeChat/Aliyun simulators.\n"
                "Every variable is listed with its default (commented out); uncomment to change one.",
    "production": "Production: PostgreSQL, Redis, separate `python -m server worker` processes, real WeChat and\n"
                  "Aliyun credentials. Replace every CHANGE_ME (the server refuses to start while a secret\n"
                  "is empty or still CHANGE_ME) and keep this file out of version control once filled in.\n"
                  "Run `python -m server migrate` before the first start.",
}


def _is_secret(name: str) -> bool:
    ann = str(Settings.model_fields[name].annotation)
    return "SecretStr" in ann


def _default(name: str) -> str:
    f = Settings.model_fields[name]
    value = f.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _comments() -> tuple[dict[str, str], dict[str, str]]:
    """(field -> its own or its group's comment, field -> section header)."""
    lines = (HERE / "settings.py").read_text().splitlines()
    own, section = {}, {}
    current_section, group_comment = "", ""
    pending: list[str] = []
    for line in lines:
        s = line.strip()
        if line.startswith("    # ----"):
            current_section = s.strip("# -").strip()
            pending, group_comment = [], ""
            continue
        if line.startswith("    #"):
            pending.append(s.lstrip("#").strip())
            continue
        m = re.match(r"^    ([a-z_][a-z0-9_]*)\s*:", line)
        if m and m.group(1) in Settings.model_fields:
            name = m.group(1)
            if pending:
                group_comment = " ".join(pending)
            own[name] = group_comment
            section[name] = current_section
            pending = []
            continue
        if not s:
            pending, group_comment = [], ""
        elif not line.startswith("     "):  # not a continuation of a multi-line field
            pending = []
    return own, section


def render(kind: str) -> str:
    own, section = _comments()
    out = ["# " + line for line in HEADERS[kind].splitlines()]
    out.append("# Generated by `python -m config.envdoc` from config/settings.py.")
    last_section = None
    missing = []
    for name in Settings.model_fields:
        sec = section.get(name) or "core"
        if sec != last_section:
            out += ["", f"# ==== {sec} ===="]
            last_section = sec
        meaning = DESCRIPTIONS.get(name) or own.get(name)
        if not meaning:
            missing.append(name)
            meaning = "(undocumented)"
        var = "KAZUO_" + name.upper()
        default = _default(name)
        shown_default = "unset" if default == "" else default
        out.append("")
        out += [f"# {line}" for line in _wrap(meaning)]
        out.append(f"# Default: {shown_default}")
        if kind == "embedded" and name in SIMULATOR_SECRETS:
            # The simulators' fixed public value (checking a simulated signature by hand needs it).
            out.append(f"# Unset with the simulators on: the simulators' public value {SIMULATOR_SECRETS[name]}")
        if kind == "production" and name in PRODUCTION:
            out.append(f"{var}={PRODUCTION[name]}")
        elif kind == "production" and name in REQUIRED_SECRETS:
            out.append(f"{var}={PLACEHOLDER}")
        elif kind == "production" and _is_secret(name):
            out.append(f"# {var}={PLACEHOLDER}")
        else:
            out.append(f"# {var}={default}")
    if missing:
        raise SystemExit("settings without a description (add a comment above the field): " + ", ".join(missing))
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int = 100) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines


def main() -> None:
    for kind in ("embedded", "production"):
        path = HERE / f"{kind}.env.example"
        path.write_text(render(kind))
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
