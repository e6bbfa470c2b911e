"""The station fixtures (a small network, staff bound to its village stations, a buyer)."""
from tests.stations.conftest import buyer, net, staff_a, staff_b  # noqa: F401
