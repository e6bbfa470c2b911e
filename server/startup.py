"""What every process starts after its connections, in order: the one list the composition roots
(server/app.py, server/cli.py, jobs/worker.py) register with server.kit.lifecycle, so that the kit
names no domain and a reader finds here everything a process wires at start."""
from __future__ import annotations

from live import setup as live_setup
from server.integrations import aliyun, oss, wechat, wechatpay_gateway
from server.kit import lifecycle
from server.presale import service as presale
from server.stations import setup as stations_setup

HOOKS = (
    wechat.install,              # the WeChat client (login, messages, wxacode)
    wechatpay_gateway.install,   # WeChat Pay v2/v3 (issue #4)
    aliyun.install,              # SMS and Live (issue #7)
    live_setup.install,          # the flash-gate Lua scripts and the "live" checkout source
    stations_setup.install,      # the pickup-code attempt windows' Lua scripts (issue #5)
    oss.install,                 # OSS as the media storage when configured (issue #21)
    presale.install,             # the "presale" checkout source (issue #28)
)


def install() -> None:
    """Register the start-up hooks (idempotent); call before server.kit.lifecycle.start()."""
    lifecycle.register(*HOOKS)
