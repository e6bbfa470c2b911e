"""Protocol-accurate local stand-ins for WeChat and Aliyun, mounted under /__sim__ only in simulator
mode (the OSS bucket at /kazuo-oss-sim, where oss2 addresses it). The real SDKs (wechatpy,
aliyun-python-sdk-core, oss2) talk to them over real HTTP with real
signatures; their state lives in Redis so that every server process sees the same."""
from __future__ import annotations

SIM_BLUEPRINTS = [
    "server.integrations.simulators.wechat",
    "server.integrations.simulators.aliyun",
    "server.integrations.simulators.wechat_messages",
    "live.simulator",
    "server.integrations.simulators.wechatpay",
    "server.integrations.simulators.wechatpay_v3",
    "server.integrations.simulators.wechat_shipping",
    "server.integrations.simulators.wechat_codes",
    "server.integrations.simulators.oss",
]
