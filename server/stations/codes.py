"""Pickup codes (提货码) and the signed QR payload the mini-program shows.

Payload: "KZP1.<pickup_id>.<station_id>.<expires unix>.<sig>", sig = base64url(HMAC-SHA256(key,
"KZP1.<pickup_id>.<station_id>.<expires>"))[:22]. The code itself is not in the QR, so a leaked QR
image names no code that can be typed at another counter."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime

from server.kit import clock, runtime
from server.kit.errors import AppError
from server.stations.errors import StationCode

PREFIX = "KZP1"
_QR = re.compile(r"^KZP1\.([0-9]{1,19})\.([0-9]{1,19})\.([0-9]{1,12})\.([A-Za-z0-9_\-]{22})$")


def new_code() -> str:
    """8 random digits from the OS CSPRNG (uniqueness among open pickups is the DB index's job)."""
    return f"{secrets.randbelow(10**8):08d}"


def _key() -> bytes:
    s = runtime.settings()
    if s.pickup_qr_secret is not None:
        return s.pickup_qr_secret.get_secret_value().encode()
    return _derived(runtime.get().extras["jwt_key"])


@lru_cache(maxsize=4)
def _derived(jwt_key: str) -> bytes:
    # Derived, so a deployment needs one secret less; distinct from the JWT key itself.
    return hmac.new(jwt_key.encode(), b"kazuo-pickup-qr", hashlib.sha256).digest()


def _sig(body: str) -> str:
    mac = hmac.new(_key(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:22]


def sign_qr(pickup_id: int, station_id: int, expires_at: datetime) -> str:
    body = f"{PREFIX}.{pickup_id}.{station_id}.{int(expires_at.timestamp())}"
    return f"{body}.{_sig(body)}"


@dataclass(frozen=True)
class QrClaim:
    pickup_id: int
    station_id: int
    expires: int


class QrInvalid(AppError):
    status, code = 400, StationCode.QR_INVALID


class QrExpired(AppError):
    status, code = 400, StationCode.QR_EXPIRED


def read_qr(payload: str) -> QrClaim:
    """Check the signature and expiry of a scanned payload (400 qr_invalid / qr_expired)."""
    m = _QR.match(payload)
    if not m:
        raise QrInvalid("the QR payload is not a pickup code", details=[{"field": "qr", "message": "malformed"}])
    body = payload.rsplit(".", 1)[0]
    if not hmac.compare_digest(_sig(body), m.group(4)):
        raise QrInvalid("the QR payload's signature does not match",
                        details=[{"field": "qr", "message": "bad signature"}])
    claim = QrClaim(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if claim.expires < clock.now().timestamp():
        raise QrExpired("the QR payload has expired; ask the buyer to refresh it",
                        details=[{"field": "qr", "message": "expired"}])
    return claim


def jid(name: str) -> str:
    """An arq job id under this deployment's Redis prefix: arq keeps results under the bare id, so
    two deployments (or test runs) sharing a Redis would otherwise dedupe each other's jobs."""
    return runtime.settings().redis_prefix + name
