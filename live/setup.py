"""Start-up hook (server/kit/lifecycle.py INTEGRATION_HOOKS, so both the server and the worker run
it): load the flash-gate Lua scripts, register the "live" checkout source with the orders hooks and
live's recall functions with trace's hooks."""
from __future__ import annotations

from live import gate


def install(settings, rt) -> None:
    from server.kit import lifecycle

    if gate.LUA_DIR not in lifecycle.LUA_DIRS:
        lifecycle.LUA_DIRS.append(gate.LUA_DIR)
    # LUA_DIRS were loaded before the hooks ran: load ours into this runtime now.
    rt.scripts.load_dir(gate.LUA_DIR)
    from live import checkout
    from live import service

    checkout.register()
    service.register_recall()
