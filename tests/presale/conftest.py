"""The orders tests' fixtures: buyers, a pickup station, WeChat Pay v2 and v3 (pay_api)."""
from tests.orders.conftest import buyer, pay_api, station  # noqa: F401 - fixtures
