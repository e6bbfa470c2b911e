"""Statement PDFs: the printed statement page (headless Chromium, a CJK font), its text read back;
the payee's own and the office's; another payee's is a 404; no Chromium is a 503, not a 500."""
import io
import os
from datetime import timedelta

import pytest

from server.kit import clock
from server.kit.auth import Principal
from server.models.accounts import User
from server.models.live import LivestreamerProfile
from server.models.merchants import Merchant
from server.models.settlement import Statement
from server.settlement import documents
from server.settlement.schemas import StatementsQuery
from tests.conftest import login, login_as
from tests.orders.conftest import make_merchant, make_station
from tests.settlement.helpers import make_statement

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is absent (apt-get install chromium)")


def _text(pdf: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@needs_chromium
async def test_statement_pdf_for_the_payee_and_the_office(client, admin):
    buyer = await login(client)
    st, order, merchant_id = await make_statement(buyer.id, price=2800)
    name = (await Merchant.get(id=merchant_id)).name
    me = await login_as(client, "merchant", merchant_id=merchant_id)
    r = await me.get(f"/api/v1/statements/{st.id}/pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert f'statement-{st.id}.pdf' in r.headers["content-disposition"]
    text = _text(r.content).replace(" ", "")
    for s in ("结算单", f"#{st.id}", name, order.order_no, "合计", f"{st.total_fen / 100:.2f}", "北京时间"):
        assert s in text, (s, text[:400])
    r = await admin.get(f"/api/v1/console/settlement/statements/{st.id}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    other = await login_as(client, "merchant", merchant_id=(await Merchant.create(name="别家", kind="household",
                                                                                    status="active")).id)
    assert (await other.get(f"/api/v1/statements/{st.id}/pdf")).status_code == 404
    assert (await me.get("/api/v1/statements/987654321/pdf")).status_code == 404
    assert (await buyer.get(f"/api/v1/statements/{st.id}/pdf")).status_code == 403


async def test_no_chromium_is_a_503(client, settings, monkeypatch):
    buyer = await login(client)
    st, _, merchant_id = await make_statement(buyer.id)
    me = await login_as(client, "merchant", merchant_id=merchant_id)
    monkeypatch.setattr(settings, "pdf_chromium_path", "/nonexistent/chromium")
    r = await me.get(f"/api/v1/statements/{st.id}/pdf")
    assert r.status_code == 503 and r.json()["error"]["code"] == "pdf_unavailable"


async def test_the_console_list_names_each_kind_of_payee_as_payee_names_does(client):
    """The statements list reads its payees' names in its own statement (a subquery per kind): the same
    names as payee_names, and '' (the list shows the id) for a payee that no longer exists."""
    merchant, station = await make_merchant(), await make_station()
    shown = await User.create(openid="o-ls-" + os.urandom(4).hex(), nickname="小周")
    await LivestreamerProfile.create(user_id=shown.id, display_name="周主播")
    plain = await User.create(openid="o-ls-" + os.urandom(4).hex(), nickname="小吴")
    start = clock.now() - timedelta(days=400) - timedelta(seconds=int.from_bytes(os.urandom(3), "big"))
    payees = [("merchant", merchant.id), ("station", station.id), ("livestreamer", shown.id),
              ("livestreamer", plain.id), ("merchant", 2**60 + int.from_bytes(os.urandom(3), "big"))]
    ids = [(await Statement.create(account_type=t, account_id=i, period_start=start,
                                   period_end=start + timedelta(days=7))).id for t, i in payees]
    admin = Principal(user_id=0, roles=frozenset({"admin"}))
    page, names = await documents.named_statements(admin, StatementsQuery(limit=200))
    assert [s.id for s in page.items][:5] == ids[::-1]
    expected = await documents.payee_names(set(payees))
    assert {p: names[p] for p in payees} == {p: expected.get(p, "") for p in payees}
    assert [names[p] for p in payees] == [merchant.name, station.name, "周主播", "小吴", ""]
