"""A statement made directly for a real cash order's line (its merchant's ledger entries), for the
document and console tests (the settlement run itself is tested in test_settlement.py)."""
from __future__ import annotations

from datetime import timedelta

from server.kit import clock
from server.models.ledger import LedgerEntry
from server.models.orders import OrderLine
from server.models.settlement import Statement, StatementLine
from server.settlement import service as settlement
from tests.cash.conftest import villages
from tests.stations.conftest import make_paid_order, make_sku


async def make_statement(buyer_id: int, *, price: int = 2800):
    """(statement, order, merchant id) for a cash order at a fresh station, one line."""
    net = await villages()
    sku = await make_sku(price=price)
    order = await make_paid_order(buyer_id, net["a"].id, sku=sku)
    line = await OrderLine.get(order_id=order.id)
    entries = await LedgerEntry.filter(order_line_id=line.id, account_type="merchant")
    amount = sum(e.amount_fen for e in entries)
    end = settlement.last_period_end()
    st = await Statement.create(account_type="merchant", account_id=line.merchant_id,
                                period_start=end - settlement.period_length(), period_end=end,
                                total_fen=amount, sales_fen=amount, reversals_fen=0, line_count=1)
    await StatementLine.create(statement_id=st.id, order_id=order.id, order_line_id=line.id,
                               order_no=order.order_no, product_name=line.product_name,
                               completed_at=clock.now() - timedelta(days=1), sales_fen=amount, reversals_fen=0,
                               amount_fen=amount, entry_ids=[e.id for e in entries])
    return st, order, line.merchant_id
