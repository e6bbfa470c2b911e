import pytest

from server.payments import service


@pytest.fixture
def no_handoff(monkeypatch):
    """Keep paid orders in `paid` (the warehouse hand-off job is not enqueued): the tests move them."""
    real = service.enqueue

    def enqueue(name, *args, **kw):
        if name != "fulfillment.handoff":
            real(name, *args, **kw)

    monkeypatch.setattr(service, "enqueue", enqueue)
