"""Identity: JWT (HS256 pinned; iss/aud/exp required) and the caller's principal (roles and the
stations/merchants they are bound to), loaded from the database through a short Redis cache."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import jwt
import orjson

from server.kit import clock, local_cache, runtime
from server.kit import redis as kr
from server.kit.errors import Forbidden, KitCode, NotFound, Unauthorized
from server.kit.local_cache import LocalCache
from server.models.accounts import PrincipalChange, RoleGrant, User

log = logging.getLogger("kazuo.auth")

ALGORITHM = "HS256"
PRINCIPAL_TTL = 60
# In each process, a signed-in user's principal is kept this long at most (a message from
# forget_principal drops it at once everywhere; this bounds a lost message).
PRINCIPAL_LOCAL_SECONDS = 5.0
PRINCIPAL_LOCAL_MAX = 50_000


class Role(str, Enum):
    consumer = "consumer"
    merchant = "merchant"            # 商户成员, bound to a merchant
    livestreamer = "livestreamer"    # 主播
    station_staff = "station_staff"  # 服务站工作人员, bound to stations
    warehouse = "warehouse"          # 县仓操作员
    admin = "admin"                  # 县电商办


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    roles: frozenset[str]
    station_ids: frozenset[int] = frozenset()
    merchant_ids: frozenset[int] = frozenset()
    head_station_ids: frozenset[int] = frozenset()

    def has(self, role: Role | str) -> bool:
        return (role.value if isinstance(role, Role) else role) in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.admin.value in self.roles

    def require_station(self, station_id: int) -> None:
        """404 (not 403) for a station outside the caller's scope: existence is not revealed."""
        if station_id not in self.station_ids:
            raise NotFound("station not found")

    def require_merchant(self, merchant_id: int) -> None:
        if merchant_id not in self.merchant_ids:
            raise NotFound("merchant not found")


def issue_token(user_id: int, roles: list[str], token_version: int) -> str:
    s = runtime.settings()
    now = clock.now()
    payload = {"sub": str(user_id), "iss": s.jwt_issuer, "aud": s.jwt_audience,
               "iat": int(now.timestamp()), "exp": int(now.timestamp()) + s.jwt_ttl_seconds,
               "roles": roles, "tv": token_version}
    return jwt.encode(payload, runtime.get().extras["jwt_key"], algorithm=ALGORITHM)


# About 1 KB each (the token and its claims): the tokens of the users active in the last minutes,
# the oldest quarter dropped when full. 50,000 holds a ten-times flash-sale crowd (20,000 buyers, each
# re-verification ~50 µs) for up to ~50 MB a process.
VERIFIED_MAX = 50_000


def decode_token(token: str) -> dict:
    """The token's claims, its signature and claims verified. A token verified before is looked up
    (its expiry still checked, as PyJWT would, on the wall clock): a busy client sends the same
    token with every request, and its verification is most of an authenticated request's cost.
    The memory lives in the runtime, whose key signed the tokens it holds."""
    rt = runtime.get()
    verified: dict[str, dict] = rt.extras.setdefault("verified_tokens", {})
    claims = verified.get(token)
    if claims is not None and claims["exp"] > time.time():
        return claims
    s = rt.settings
    try:
        claims = jwt.decode(token, rt.extras["jwt_key"], algorithms=[ALGORITHM],
                            audience=s.jwt_audience, issuer=s.jwt_issuer,
                            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                            leeway=0)
    except jwt.ExpiredSignatureError:
        verified.pop(token, None)
        raise Unauthorized("token expired", code=KitCode.TOKEN_EXPIRED) from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid token", code=KitCode.INVALID_TOKEN) from None
    if isinstance(claims.get("exp"), int):
        if len(verified) >= VERIFIED_MAX:
            # the oldest quarter goes (dicts keep insertion order): the active users' tokens stay
            for old in list(itertools.islice(verified, max(1, VERIFIED_MAX // 4))):
                del verified[old]
        # strings, numbers and tuples only: the collector stops tracking the claims (see _shared)
        claims["roles"] = tuple(claims.get("roles") or ())
        verified[token] = claims
    return claims


def _principal_key(user_id: int) -> str:
    return kr.key("principal", user_id)


async def _load_principal_data(user_id: int) -> dict | None:
    user = await User.get_or_none(id=user_id).only("id", "is_active", "token_version")
    if user is None:
        return None
    grants = await RoleGrant.filter(user_id=user_id).values("role", "station_id", "merchant_id", "is_head")
    return {
        "active": user.is_active, "tv": user.token_version,
        "roles": sorted({g["role"] for g in grants} | {Role.consumer.value}),
        "stations": sorted({g["station_id"] for g in grants if g["station_id"]}),
        "heads": sorted({g["station_id"] for g in grants if g["station_id"] and g["is_head"]}),
        "merchants": sorted({g["merchant_id"] for g in grants if g["merchant_id"]}),
    }


async def load_principal(user_id: int, token_version: int | None = None) -> Principal:
    """The user's roles and bindings: from this process's tier (server.kit.local_cache, dropped in
    every process by forget_principal's message), else Redis (PRINCIPAL_TTL), else the database."""
    tier = LocalCache.of("principal", life=PRINCIPAL_LOCAL_SECONDS, max_entries=PRINCIPAL_LOCAL_MAX)
    hit = tier.get(user_id) if tier is not None else None
    if hit is None:
        generation = tier.generation if tier is not None else 0
        raw = await kr.batched("GET", _principal_key(user_id))
        data = orjson.loads(raw) if raw else None
        if data is None:
            data = await _load_principal_data(user_id)
            if data is None:
                raise Unauthorized("unknown user", code=KitCode.INVALID_TOKEN)
            await kr.redis().set(_principal_key(user_id), orjson.dumps(data), ex=PRINCIPAL_TTL)
        hit = (bool(data["active"]), data["tv"], Principal(
            user_id=user_id, roles=_shared(data["roles"]), station_ids=_shared(data["stations"]),
            merchant_ids=_shared(data["merchants"]), head_station_ids=_shared(data.get("heads", []))))
        if tier is not None:
            tier.put(user_id, hit, (str(user_id),), generation)
    active, tv, principal = hit
    if not active:
        raise Unauthorized("account disabled", code=KitCode.ACCOUNT_DISABLED)
    if token_version is not None and token_version != tv:
        raise Unauthorized("token revoked", code=KitCode.TOKEN_REVOKED)
    return principal


# A process remembers tens of thousands of principals during a crowd (a flash sale's 20,000 viewers),
# and every object it keeps is one more for each full collection of the garbage collector to walk:
# with a dict, four lists and four frozensets each, 20,000 principals were ~300,000 objects and full
# collections paused the server 60-160 ms, in the middle of a sale (the buy button's p99). A cached
# principal is now a tuple and a slotted Principal, and the sets most share (the consumer's roles,
# no stations, no merchants) are one object each.
_SHARED_MAX = 10_000
_shared_sets: dict[tuple, frozenset] = {}


def _shared(items) -> frozenset:
    key = tuple(items)
    hit = _shared_sets.get(key)
    if hit is None:
        if len(_shared_sets) >= _SHARED_MAX:
            _shared_sets.clear()
        hit = _shared_sets[key] = frozenset(key)
    return hit


async def forget_principal(user_id: int, *, everywhere: bool = True) -> None:
    """Drop the cached principal after a change of roles, bindings or status: in Redis, and in every
    process's own tier at once or through the message. With the embedded in-process store neither
    reaches another process (the CLI's grant-role and the running server each have their own), so
    the change is also written to the database, where every server reads it within a second
    (watch_principal_changes). everywhere=False: only this process's copies (a login re-reading)."""
    await _drop_principal(user_id)
    if everywhere and runtime.settings().embedded_redis:
        await PrincipalChange.create(user_id=user_id, created_at=clock.now())


async def _drop_principal(user_id: int) -> None:
    await kr.redis().delete(_principal_key(user_id))
    await local_cache.invalidate("principal", str(user_id))


# A change is re-read for this long (not once by id): ids of concurrent inserts may commit out of
# order, and dropping a principal twice costs one database read.
PRINCIPAL_CHANGE_WINDOW = timedelta(seconds=5)
PRINCIPAL_CHANGE_KEEP = timedelta(hours=1)


async def watch_principal_changes(interval: float = 1.0) -> None:
    """Run for as long as the server does (embedded store only): every `interval` seconds, drop the
    cached principals of the users whose roles changed in another process (PrincipalChange rows)."""
    polls = 0
    while True:
        await asyncio.sleep(interval)
        try:
            now = clock.now()
            users = await PrincipalChange.filter(created_at__gte=now - PRINCIPAL_CHANGE_WINDOW) \
                .distinct().values_list("user_id", flat=True)
            for user_id in users:
                await _drop_principal(user_id)
            polls += 1
            if polls % 600 == 0:
                await PrincipalChange.filter(created_at__lt=now - PRINCIPAL_CHANGE_KEEP).delete()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database away for a moment: try again next second
            log.warning("could not read principal changes: %r", exc)


async def authenticate(authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token", code=KitCode.MISSING_TOKEN)
    claims = decode_token(authorization[7:].strip())
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid token", code=KitCode.INVALID_TOKEN) from None
    tv = claims.get("tv")
    return await load_principal(user_id, tv if isinstance(tv, int) else -1)


def require_roles(principal: Principal, roles: tuple[str, ...]) -> None:
    if roles and not any(r in principal.roles for r in roles):
        raise Forbidden("this needs one of the roles: " + ", ".join(roles), code=KitCode.ROLE_REQUIRED)
