"""Statement PDFs: the printed statement page (headless Chromium, a CJK font), its text read back;
the payee's own and the office's; another payee's is a 404; no Chromium is a 503, not a 500."""
import io
import os

import pytest

from server.models.merchants import Merchant
from tests.conftest import login, login_as
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
