"""Start-up hook (server/startup.py, so the server, the worker and the CLI run it): load the
flash-gate Lua scripts, register the "live" checkout source with the orders hooks and live's recall
functions with trace's hooks (server/trace/hooks.py: trace reaches live without importing it)."""
from __future__ import annotations

from live import checkout, gate, service
from server.kit import lifecycle


def install(settings, rt) -> None:
    if gate.LUA_DIR not in lifecycle.LUA_DIRS:
        lifecycle.LUA_DIRS.append(gate.LUA_DIR)
    # LUA_DIRS were loaded before the hooks ran: load ours into this runtime now.
    rt.scripts.load_dir(gate.LUA_DIR)
    checkout.register()
    service.register_recall()
