"""Two village stations with staff and a buyer. The stations hang under no county centre: the office's
station tree lists county centres as its roots, and these tests need none (`net` below replaces the
stations tests' network; their staff and buyer fixtures are used as they are, on this `net`)."""
import pytest

from tests.stations.conftest import buyer, make_station, staff_a, staff_b  # noqa: F401 - fixtures


async def villages() -> dict:
    return {"a": await make_station("village"), "b": await make_station("village")}


@pytest.fixture
async def net():
    return await villages()
