import pytest

from server.kit import clock


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()
