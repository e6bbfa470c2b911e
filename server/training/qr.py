"""Sign-in QR payloads (签到码): HMAC-signed, bound to a session and a day, valid for one time window
plus the previous one, so a photo of the code sent to an absent friend stops working within minutes."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from server.kit import clock, runtime
from server.kit.errors import Gone, ValidationFailed
from server.training.errors import TrainingCode

VERSION = "KZT1"
_PAYLOAD = re.compile(r"^KZT1\.([1-9]\d{0,18})\.(\d{8})\.(\d{1,12})\.([A-Za-z0-9_\-]{22})$")


def _key() -> bytes:
    s = runtime.settings()
    if s.training_signin_secret is not None:
        return s.training_signin_secret.get_secret_value().encode()
    # No dedicated secret: derive one from the JWT key (a separate purpose label, so a token
    # signature can never double as a sign-in code and vice versa).
    return hmac.new(runtime.get().extras["jwt_key"].encode(), b"kazuo:training-signin:v1",
                    hashlib.sha256).digest()


def _sign(body: str) -> str:
    mac = hmac.new(_key(), body.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _window_seconds() -> int:
    return runtime.settings().training_qr_window_seconds


def current_window(at: datetime | None = None) -> int:
    return int((at or clock.now()).timestamp()) // _window_seconds()


def window_start(window: int) -> datetime:
    return datetime.fromtimestamp(window * _window_seconds(), tz=clock.UTC)


@dataclass(frozen=True)
class Issued:
    payload: str
    valid_until: datetime
    refresh_after: datetime


def issue(session_id: int, day: date) -> Issued:
    """The payload to show now for a session day."""
    w = current_window()
    body = f"{VERSION}.{session_id}.{day:%Y%m%d}.{w}"
    step = timedelta(seconds=_window_seconds())
    return Issued(payload=f"{body}.{_sign(body)}", valid_until=window_start(w) + 2 * step,
                  refresh_after=window_start(w) + step)


@dataclass(frozen=True)
class Verified:
    session_id: int
    day: date


def verify(payload: str) -> Verified:
    """Check signature, window and day; a forged payload is a 422, a late one 410."""
    m = _PAYLOAD.match(payload)
    if not m:
        raise ValidationFailed("payload: not a sign-in code", code=TrainingCode.INVALID_SIGNIN_CODE,
                               details=[{"field": "payload", "message": "not a sign-in code"}])
    sid, day_s, w_s, sig = m.groups()
    body = f"{VERSION}.{sid}.{day_s}.{w_s}"
    if not hmac.compare_digest(sig, _sign(body)):
        raise ValidationFailed("payload: the sign-in code is not genuine",
                               code=TrainingCode.INVALID_SIGNIN_CODE,
                               details=[{"field": "payload", "message": "signature mismatch"}])
    try:
        day = date(int(day_s[:4]), int(day_s[4:6]), int(day_s[6:]))
    except ValueError:
        raise ValidationFailed.field("payload", "not a sign-in code") from None
    now_w = current_window()
    w = int(w_s)
    # A window from the future can only come from a clock we did not sign with: treat it as forged.
    if w > now_w:
        raise ValidationFailed("payload: the sign-in code is not valid yet",
                               code=TrainingCode.INVALID_SIGNIN_CODE,
                               details=[{"field": "payload", "message": "not valid yet"}])
    if now_w - w > 1 or day != clock.local_today():
        raise Gone("the sign-in code has expired; scan the code on screen again",
                   code=TrainingCode.SIGNIN_CODE_EXPIRED)
    return Verified(session_id=int(sid), day=day)
