"""Aliyun Live type-A URL authentication (鉴权方式A) and the publish-callback signature.

auth_key = "{timestamp}-{rand}-{uid}-{md5hash}", md5hash = md5("{uri}-{timestamp}-{rand}-{uid}-{key}"),
timestamp = the URL's expiry (unix seconds). Aliyun accepts the primary or the backup key, so keys
rotate without a gap: sign with the primary, verify against both."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from config.settings import ConfigError, Settings

# Simulator-mode keys (public, only ever used against the built-in Aliyun simulator).
SIMULATOR_KEYS = {
    "live_push_auth_key": "kazuo-sim-live-push-key",
    "live_push_auth_key_backup": "kazuo-sim-live-push-key-backup",
    "live_play_auth_key": "kazuo-sim-live-play-key",
    "live_play_auth_key_backup": "kazuo-sim-live-play-key-backup",
    "live_callback_key": "kazuo-sim-live-callback-key",
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def auth_key(uri: str, key: str, expires_at: int, rand: str = "0", uid: str = "0") -> str:
    """The auth_key value for a URI path (e.g. /app/stream.flv) valid until expires_at."""
    digest = _md5(f"{uri}-{expires_at}-{rand}-{uid}-{key}")
    return f"{expires_at}-{rand}-{uid}-{digest}"


def verify_auth_key(uri: str, value: str, keys: list[str], now: int) -> bool:
    """True when value is a well-formed, unexpired auth_key for uri under any of keys."""
    parts = value.split("-")
    if len(parts) != 4:
        return False
    ts, rand, uid, digest = parts
    if not ts.isdigit() or len(ts) > 12 or int(ts) < now:
        return False
    for k in keys:
        if k and hmac.compare_digest(_md5(f"{uri}-{ts}-{rand}-{uid}-{k}"), digest.lower()):
            return True
    return False


def setting_secret(settings: Settings, name: str) -> str | None:
    value = getattr(settings, name)
    if value is not None:
        return value.get_secret_value()
    if settings.simulators_on:
        return SIMULATOR_KEYS[name]
    return None


def _required(settings: Settings, name: str) -> str:
    value = setting_secret(settings, name)
    if not value:
        raise ConfigError(f"KAZUO_{name.upper()} is not set")
    return value


def push_keys(settings: Settings) -> list[str]:
    return [k for k in (_required(settings, "live_push_auth_key"),
                        setting_secret(settings, "live_push_auth_key_backup")) if k]


def play_keys(settings: Settings) -> list[str]:
    return [k for k in (_required(settings, "live_play_auth_key"),
                        setting_secret(settings, "live_play_auth_key_backup")) if k]


@dataclass(frozen=True)
class StreamUrls:
    push_url: str
    push_expires_at: int
    rtmp: str
    flv: str
    hls: str
    play_expires_at: int


def _signed(scheme: str, domain: str, uri: str, key: str, expires_at: int, uid: str) -> str:
    return f"{scheme}://{domain}{uri}?auth_key={auth_key(uri, key, expires_at, secrets.token_hex(8), uid)}"


def push_url(settings: Settings, stream: str, now: int) -> tuple[str, int]:
    """The RTMP push (推流) URL for a stream, signed with the primary push key."""
    exp = now + settings.live_push_url_ttl_seconds
    uri = f"/{settings.live_app_name}/{stream}"
    return _signed("rtmp", settings.live_push_domain, uri, push_keys(settings)[0], exp, "0"), exp


def play_urls(settings: Settings, stream: str, now: int, uid: int | str = 0) -> dict:
    """Signed play (播流) URLs: RTMP, FLV and HLS, each with its own URI in the hash."""
    exp = now + settings.live_play_url_ttl_seconds
    key = play_keys(settings)[0]
    base = f"/{settings.live_app_name}/{stream}"
    d = settings.live_play_domain
    return {"rtmp": _signed("rtmp", d, base, key, exp, str(uid)),
            "flv": _signed("https", d, base + ".flv", key, exp, str(uid)),
            "hls": _signed("https", d, base + ".m3u8", key, exp, str(uid)),
            "expires_at": exp}


def verify_url(url: str, keys: list[str], now: int) -> bool:
    """Check a signed URL the way the CDN does (used by the simulator and tests)."""
    parts = urlsplit(url)
    params = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return verify_auth_key(parts.path, params.get("auth_key", ""), keys, now)


def callback_signature(push_domain: str, timestamp: str, key: str) -> str:
    """ALI-LIVE-SIGNATURE = md5("{push_domain}|{ALI-LIVE-TIMESTAMP}|{key}")."""
    return _md5(f"{push_domain}|{timestamp}|{key}")


def verify_callback(settings: Settings, headers: dict, now: int) -> str | None:
    """None when the callback's signature holds (or no key is configured outside production); else why
    not. In production an unset key refuses every callback: an unsigned one could end a session."""
    key = setting_secret(settings, "live_callback_key")
    if not key:
        return "KAZUO_LIVE_CALLBACK_KEY is not set" if settings.env == "production" else None
    ts = headers.get("ali-live-timestamp") or ""
    sig = (headers.get("ali-live-signature") or "").lower()
    if not ts or not sig:
        return "missing signature headers"
    if not ts.isdigit() or len(ts) > 12:
        return "bad timestamp"
    if abs(now - int(ts)) > settings.live_callback_max_skew_seconds:
        return "stale timestamp"
    if not hmac.compare_digest(callback_signature(settings.live_push_domain, ts, key), sig):
        return "bad signature"
    return None
