"""The flash-sale crowd after a sell-out: 立即抢购 answered 409 at a steady load (wrk), next to bare Sanic.

Setup as flash_sale (quota 100, buyers with warm sessions), then one buyer per unit takes the whole
quota; the measurement is the rest of the buyers pressing the button round-robin: the answer comes
from the gate or this process's memory of the sell-out, never from the database. This is the cost of
each of the crowd's presses in the flash_sale burst, measured alone."""
from bench import Req
from bench.scenarios import flash_sale

REQUIRES = ("pg", "redis")
CONNECTIONS = 50


async def setup(ctx):
    await flash_sale.setup(ctx)
    st = ctx.state
    path = f"/api/v1/live/sessions/{st['session_id']}/orders"
    body = {"sku_id": st["sku_id"], "quantity": 1, "fulfilment": "pickup", "station_id": st["station_id"]}
    winners = [Req("POST", path, headers={"Authorization": f"Bearer {t}"}, body=body)
               for t in st["tokens"][: st["quota"]]]
    fig = await ctx.drive(winners, name="sell out", connections=20)
    if fig.statuses.get(202, 0) != st["quota"]:
        raise RuntimeError(f"the quota did not sell out: {fig.statuses}")
    ctx.state["crowd"] = [Req("POST", path, headers={"Authorization": f"Bearer {t}"}, body=body)
                          for t in st["tokens"][st["quota"]:]]


def requests(ctx):
    return ctx.state["crowd"]


async def verify(ctx):
    return await flash_sale.verify(ctx)
