"""Flash sale, a ten-times crowd (#27): quota 1,000, 20,000 buyers (25,000 attempts) at 2,000 connections.

The flash_sale scenario (read its description) with bigger defaults: --opt buyers=20000 --opt
quota=1000, 2,000 connections. Its goals: 0 oversold and nobody over the limit in every run;
attempts >= 30% of bare; p99 of the buy button < 200 ms; the last of the 1,000 orders written within
3 s of the first attempt (last_order_ms); worker and PostgreSQL CPU <= 0.5 ms per order
(worker_cpu_ms/order, postgres_cpu_ms/order). Every other flash_sale option applies."""
from __future__ import annotations

from bench.scenarios import flash_sale as base

REQUIRES = base.REQUIRES
CONNECTIONS = 2000
SETUP_TIMEOUT = 1200
DEFAULTS = {"buyers": "20000", "quota": "1000"}


async def setup(ctx):
    for k, v in DEFAULTS.items():
        ctx.options.setdefault(k, v)
    await base.setup(ctx)


run = base.run
verify = base.verify
