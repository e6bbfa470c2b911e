"""Two village stations with staff and a buyer. The stations hang under no county centre: the office's
station tree lists county centres as its roots, and these tests need none."""
import pytest

from tests.conftest import login, login_as
from tests.stations.conftest import make_station


async def villages() -> dict:
    return {"a": await make_station("village"), "b": await make_station("village")}


@pytest.fixture
async def net():
    return await villages()


@pytest.fixture
async def staff_a(client, net):
    return await login_as(client, "station_staff", station_id=net["a"].id)


@pytest.fixture
async def staff_b(client, net):
    return await login_as(client, "station_staff", station_id=net["b"].id)


@pytest.fixture
async def buyer(client):
    return await login(client)
