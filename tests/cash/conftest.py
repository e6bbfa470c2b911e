"""The station fixtures (a small network, staff bound to its village stations, a buyer)."""
from tests.stations import conftest as stations

net, staff_a, staff_b, buyer = stations.net, stations.staff_a, stations.staff_b, stations.buyer
