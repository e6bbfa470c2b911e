"""Seeds the multi-process test's stack (run as `python -m tests.platform.multiproc_seed BASE_URL` with
the stack's environment): goods with a little stock, a pickup station, and an on-air livestream
session with a flash-sale tie-in. Prints the ids as JSON."""
from __future__ import annotations

import asyncio
import sys

import httpx
import orjson

from server.cli import _with_runtime
from tests.live.conftest import attach, go_live, make_goods, make_session, make_streamer
from tests.orders.conftest import make_sku, make_station

STOCK, FLASH_QUOTA = 10, 5


async def seed(base_url: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        sku = await make_sku(stock=STOCK, price=1500)
        station = await make_station()
        goods = await make_goods(stock=50)
        streamer = await make_streamer(client)
        session = await make_session(streamer)
        tiein = await attach(streamer, session["id"], goods.sku_id, live_price=990, quota=FLASH_QUOTA, limit=1)
        await go_live(streamer, session["id"])
    return {"sku_id": sku.id, "station_id": station.id, "session_id": session["id"], "tiein_id": tiein["id"],
            "flash_sku_id": goods.sku_id, "stock": STOCK, "quota": FLASH_QUOTA}


if __name__ == "__main__":
    url = sys.argv[1]
    print(orjson.dumps(asyncio.run(_with_runtime(lambda: seed(url)))).decode())
