"""`python -m server check`: every configuration or dependency problem at once, before a start.

The configuration rules are the ones start-up enforces, read by calling the same loader
(config.settings.load_settings: its validators are the one owner of those rules); then what start-up
cannot see: migrations not applied, Redis without persistence (the job queue and the flash-sale
gates would not survive its restart), the clock against the database's, and the optional pieces of a
production set-up (the metrics token, error reporting). Nothing stops at the first failure."""
from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Callable

import asyncpg
from redis import asyncio as aioredis

from config.settings import ConfigError, Settings, load_settings
from server.kit.migrations import APP, MIGRATIONS_DIR

# Largest accepted difference between this host's clock and the database's, seconds. Deadlines
# (unpaid orders, pickup codes, signed URLs) are computed here and compared there.
MAX_CLOCK_SKEW = 2.0
TIMEOUT = 5.0


@dataclass
class Finding:
    level: str        # "problem" | "warning" | "ok"
    topic: str
    detail: str

    def line(self) -> str:
        return f"{self.level.upper():8} {self.topic}: {self.detail}"


def _config_findings() -> tuple[list[Finding], Settings | None]:
    """The start-up rules, through the start-up loader; the settings to go on checking with (the
    same without the production rules when those fail, so the services can still be checked)."""
    try:
        return [Finding("ok", "configuration", "the production start-up rules pass"
                        if (s := load_settings()).env == "production" else f"loads (KAZUO_ENV={s.env})")], s
    except ConfigError as exc:
        broken = str(exc).removeprefix("invalid configuration: ").split("; ")
        findings = [Finding("problem", "configuration", part.replace("Value error, ", "").strip())
                    for part in broken if "production mode needs: " not in part]
    try:
        s = load_settings(env="development")
    except ConfigError:
        return findings, None
    # Meant for production: every production rule it breaks, one finding each (the validator's own
    # list), and its other checks still apply.
    meant = "production" if os.environ.get("KAZUO_ENV") == "production" or len(findings) < len(broken) else s.env
    s = s.model_copy(update={"env": meant})
    if meant == "production":
        findings += [Finding("problem", "configuration", f"production mode needs {item}")
                     for item in s.production_problems()]
    return findings, s


def _production_findings(s: Settings) -> list[Finding]:
    out = []
    if s.metrics_token is None:
        out.append(Finding("problem", "metrics", "KAZUO_METRICS_TOKEN is not set: /metrics answers 401 to "
                                                 "every scrape in production"))
    if s.sentry_dsn is None:
        out.append(Finding("warning", "error reporting", "KAZUO_SENTRY_DSN is not set: errors are only logged"))
    if s.media_backend == "local":
        out.append(Finding("warning", "media", "uploads on this host's disk (KAZUO_DATA_DIR/media): with `serve` on "
                                               "more than one host set KAZUO_OSS_ENDPOINT and KAZUO_OSS_BUCKET"))
    elif not s.oss_endpoint:
        out.append(Finding("problem", "media", "KAZUO_MEDIA_STORAGE is oss but KAZUO_OSS_ENDPOINT is empty"))
    if s.proxies_count == 0 and not s.real_ip_header and s.forwarded_secret is None:
        out.append(Finding("warning", "proxy", "no proxy settings: behind nginx every client has the proxy's "
                                               "address (KAZUO_PROXIES_COUNT=1 for config/deploy/nginx)"))
    return out


async def _database_findings(s: Settings, clock: Callable[[], float]) -> list[Finding]:
    if s.embedded_db:
        return [Finding("warning" if s.env == "production" else "ok", "database",
                        "SQLite (embedded): schema generated at start, no migrations")]
    out = []
    try:
        conn = await asyncio.wait_for(asyncpg.connect(s.db_url.replace("postgres://", "postgresql://", 1)
                                                      .split("?", 1)[0]), TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the finding
        return [Finding("problem", "database", f"cannot connect: {type(exc).__name__}: {exc}")]
    try:
        out.append(Finding("ok", "database", "PostgreSQL answers"))
        files = sorted((p.name for p in (MIGRATIONS_DIR / APP).glob("*.py")), key=lambda n: int(n.split("_")[0]))
        if await conn.fetchval("SELECT to_regclass('aerich') IS NOT NULL"):
            applied = {r["version"] for r in await conn.fetch("SELECT version FROM aerich WHERE app = $1", APP)}
        else:
            applied = set()
        pending = [f for f in files if f not in applied and f.removesuffix(".py") not in applied]
        if pending:
            out.append(Finding("problem", "migrations", f"{len(pending)} not applied ({', '.join(pending)}): "
                                                        "run `python -m server migrate`"))
        else:
            out.append(Finding("ok", "migrations", f"all {len(files)} applied"))
        before = clock()
        db_time = float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())"))
        after = clock()
        skew = db_time - (before + after) / 2
        if abs(skew) > MAX_CLOCK_SKEW:
            out.append(Finding("problem", "clock", f"this host's clock is {abs(skew):.1f} s "
                                                   f"{'behind' if skew > 0 else 'ahead of'} the database's "
                                                   f"(at most {MAX_CLOCK_SKEW:.0f} s): run NTP (chrony) on both"))
        else:
            out.append(Finding("ok", "clock", f"within {abs(skew):.2f} s of the database"))
    finally:
        await conn.close()
    return out


async def _redis_findings(s: Settings) -> list[Finding]:
    if s.embedded_redis:
        return [Finding("warning" if s.env == "production" else "ok", "redis",
                        "in-process (embedded): jobs and flash-sale gates end with the process")]
    client = aioredis.from_url(s.redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        try:
            await client.ping()
        except Exception as exc:  # noqa: BLE001
            return [Finding("problem", "redis", f"cannot connect: {type(exc).__name__}: {exc}")]
        out = [Finding("ok", "redis", "answers")]
        try:
            aof = (await client.config_get("appendonly")).get("appendonly")
            save = (await client.config_get("save")).get("save")
        except Exception as exc:  # noqa: BLE001 - managed Redis may refuse CONFIG
            return out + [Finding("warning", "redis persistence", f"cannot read CONFIG ({exc}): make sure AOF "
                                                                  "(appendonly yes) is on")]
        if aof != "yes" and not save:
            out.append(Finding("problem", "redis persistence", "off (appendonly no, save \"\"): a Redis restart "
                                                               "loses the job queue; turn on appendonly yes"))
        elif aof != "yes":
            out.append(Finding("warning", "redis persistence", f"snapshots only (save {save!r}): jobs queued "
                                                               "since the last snapshot are lost on a crash; "
                                                               "appendonly yes is recommended"))
        else:
            out.append(Finding("ok", "redis persistence", "AOF on"))
        return out
    finally:
        await client.aclose()


async def run(clock: Callable[[], float] = time.time) -> list[Finding]:
    """Every finding, problems and warnings included (the configuration comes from the environment)."""
    findings, s = _config_findings()
    if s is None:
        return findings
    if s.env == "production":
        findings += _production_findings(s)
    db, rd = await asyncio.gather(_database_findings(s, clock), _redis_findings(s))
    return findings + db + rd


def main(clock: Callable[[], float] = time.time) -> int:
    """Print every finding; exit status 1 when any is a problem."""
    findings = asyncio.run(run(clock))
    for f in findings:
        print(f.line())
    problems = sum(f.level == "problem" for f in findings)
    print(f"{problems} problem(s), {sum(f.level == 'warning' for f in findings)} warning(s)")
    return 1 if problems else 0
