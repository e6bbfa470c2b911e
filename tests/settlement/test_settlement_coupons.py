"""The settlement run with coupons (#28), on orders of its own: a shop's own coupon lowers what its line
sold for, so its statement line (and the station's fee) is smaller; a platform coupon is the platform's
cost (coupon_subsidy, not a payee's entry), so the merchant's and the station's lines are as if the buyer
had paid the full price. The ledger invariant holds for both orders."""
from __future__ import annotations

from datetime import timedelta

import pytest

from server.kit import clock
from server.ledger import service as ledger
from server.models.ledger import LedgerEntry
from server.models.orders import Order
from server.models.settlement import Statement, StatementLine
from server.settlement import service as settlement
from tests.conftest import login, login_as
from tests.orders.conftest import checkout, make_sku, pay_and_notify, pickup_body
from tests.promotions.conftest import claim, make_coupon
from tests.settlement.test_settlement import _hand_over, _next_boundary_after
from tests.stations.conftest import make_network


@pytest.fixture
def hold0(settings, monkeypatch):
    monkeypatch.setattr(settings, "settlement_hold_days", 0)
    yield
    clock.reset()


async def _paid_with(buyer, station, sku, coupon_id: int) -> Order:
    r = await checkout(buyer, pickup_body(station.id, (sku.id, 2), coupon_ids=[await claim(buyer, coupon_id)]))
    assert r.status_code == 201, r.text
    assert r.json()["discount_fen"] == 200 and r.json()["total_fen"] == 1800, r.text
    assert (await pay_and_notify(buyer, r.json()["id"]))["delivered"]
    return await Order.get(id=r.json()["id"])


async def test_a_settlement_run_with_shop_and_platform_coupons(client, hold0):
    net = await make_network()
    buyer = await login(client)
    staff = await login_as(client, "station_staff", station_id=net["a"].id)
    shop_sku, plat_sku = await make_sku(price=1000, stock=20), await make_sku(price=1000, stock=20)
    shop_mid = (await shop_sku.product).merchant_id
    plat_mid = (await plat_sku.product).merchant_id
    assert shop_mid != plat_mid
    shop_coupon = await make_coupon(merchant_id=shop_mid, scope="merchant", scope_ids=[shop_mid], amount_fen=200)
    plat_coupon = await make_coupon(scope="product", scope_ids=[plat_sku.product_id], amount_fen=200)
    o_shop = await _hand_over(staff, net["a"], await _paid_with(buyer, net["a"], shop_sku, shop_coupon.id))
    o_plat = await _hand_over(staff, net["a"], await _paid_with(buyer, net["a"], plat_sku, plat_coupon.id))
    end = _next_boundary_after(max(o_shop.completed_at, o_plat.completed_at))
    clock.shift(end - clock.now() + timedelta(minutes=1))
    try:
        await settlement.run(end)
    finally:
        clock.reset()
    # the shop's coupon: its line sold for 2000 - 200 = 1800, fees on that (5% platform, 2% station)
    shop_st = await Statement.get(account_type="merchant", account_id=shop_mid)
    assert (shop_st.total_fen, shop_st.sales_fen, shop_st.line_count) == (1800 - 90 - 36, 1800 - 90 - 36, 1)
    # the platform's coupon: the merchant is paid as for 2000 (as without a coupon: 1860)
    plat_st = await Statement.get(account_type="merchant", account_id=plat_mid)
    assert (plat_st.total_fen, plat_st.line_count) == (2000 - 100 - 40, 1)
    assert plat_st.total_fen > shop_st.total_fen
    # the station's fee follows what each line sold for: 36 + 40
    station_lines = {sl.order_id: sl.amount_fen for sl in await StatementLine.filter(
        statement__account_type="station", statement__account_id=net["a"].id, order_id__in=[o_shop.id, o_plat.id])}
    assert station_lines == {o_shop.id: 36, o_plat.id: 40}
    # the platform funds its coupon (not on any payee's statement); each order's entries sum to what was paid
    subsidy = await LedgerEntry.filter(order_id=o_plat.id, kind="coupon_subsidy").values_list("amount_fen", flat=True)
    assert list(subsidy) == [-200]
    assert not await LedgerEntry.filter(order_id=o_shop.id, kind="coupon_subsidy").exists()
    assert not await StatementLine.filter(order_id=o_plat.id, statement__account_type="platform").exists()
    assert await ledger.check_invariant([o_shop.id, o_plat.id]) == []
    # a second run settles nothing more
    clock.shift(end - clock.now() + timedelta(minutes=1))
    try:
        again = await settlement.run(end)
    finally:
        clock.reset()
    assert (again.statements_created, again.lines) == (0, 0)
