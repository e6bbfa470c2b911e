"""Start-up hook (server/kit/lifecycle.py INTEGRATION_HOOKS, run by the server, the worker and the
CLI): load the stations' Lua scripts (pickup-code attempt windows)."""
from __future__ import annotations

from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"


def install(settings, rt) -> None:
    from server.kit import lifecycle

    if LUA_DIR not in lifecycle.LUA_DIRS:
        lifecycle.LUA_DIRS.append(LUA_DIR)
    # LUA_DIRS were loaded before the hooks ran: load ours into this runtime now.
    rt.scripts.load_dir(LUA_DIR)
