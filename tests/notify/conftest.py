import pytest

from server.payments import service
from tests.fulfillment.conftest import World, make_world


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
    """The fulfilment tests' world, for the after-sales moment."""
    return await make_world(client)
