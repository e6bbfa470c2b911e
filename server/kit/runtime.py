"""The process's live connections (settings, Redis, Lua scripts), set up once by the composition
roots (server/app.py, jobs/worker.py, the CLI) and reached by services through get()."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arq.connections import ArqRedis

    from config.settings import Settings
    from server.kit.redis import Scripts


@dataclass
class Runtime:
    settings: "Settings"
    redis: "ArqRedis"
    scripts: "Scripts"
    extras: dict[str, Any] = field(default_factory=dict)


_current: Runtime | None = None


def get() -> Runtime:
    if _current is None:
        raise RuntimeError("runtime not started: call server.kit.lifecycle.start() first")
    return _current


def set_current(rt: Runtime | None) -> None:
    global _current
    _current = rt


def settings() -> "Settings":
    return get().settings
