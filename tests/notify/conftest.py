import secrets

import pytest

from server.payments import service
from tests.conftest import login, login_as
from tests.fulfillment import factories as f
from tests.fulfillment.conftest import World


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep paid orders in `paid` (the warehouse hand-off job is not enqueued): the tests move them."""
    real = service.enqueue

    def enqueue(name, *args, **kw):
        if name != "fulfillment.handoff":
            real(name, *args, **kw)

    monkeypatch.setattr(service, "enqueue", enqueue)


@pytest.fixture
async def world(client) -> World:
    """The fulfilment tests' world (a county-town-village network, warehouse and station staff, a buyer),
    for the after-sales moment: a completed order needs a parcel packed at the warehouse."""
    net = await f.network()
    return World(
        net=net,
        warehouse=await login_as(client, "warehouse"),
        town_staff=await login_as(client, "station_staff", station_id=net.town.id),
        village_staff=await login_as(client, "station_staff", station_id=net.village.id),
        other_staff=await login_as(client, "station_staff", station_id=net.village2.id),
        buyer=await login(client, "o-buyer-" + secrets.token_hex(4)),
    )
