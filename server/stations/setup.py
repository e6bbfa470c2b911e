"""Start-up hook (server/startup.py, run by the server, the worker and the CLI): load the stations'
Lua scripts (pickup-code attempt windows)."""
from __future__ import annotations

from pathlib import Path

from server.kit import lifecycle

LUA_DIR = Path(__file__).parent / "lua"


def install(settings, rt) -> None:
    if LUA_DIR not in lifecycle.LUA_DIRS:
        lifecycle.LUA_DIRS.append(LUA_DIR)
    # LUA_DIRS were loaded before the hooks ran: load ours into this runtime now.
    rt.scripts.load_dir(LUA_DIR)
