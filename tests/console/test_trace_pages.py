"""The traceability pages: batches, a recall started from the console, counterfeit flags resolved."""
from __future__ import annotations

import pytest

from tests.console.conftest import Browser, operator, sign_in
from tests.trace.conftest import make_batch, sell_from_batch, shop  # noqa: F401 (the shop fixture)


@pytest.fixture
async def desk(settings, app) -> Browser:
    _, phone = await operator("admin")
    b = await sign_in(settings, phone)
    yield b
    await b.client.aclose()


async def test_batch_list_detail_recall_and_flags(desk, shop):  # noqa: F811
    b = await make_batch(shop)
    await sell_from_batch(shop, b["code"])
    r = await desk.page(f"/console/trace?merchant_id={shop.merchant.id}")
    assert f'data-batch="{b["id"]}"' in r.text
    r = await desk.page("/console/trace?merchant_id=abc")
    assert 'data-field="merchant_id"' in r.text
    r = await desk.page(f"/console/trace/batches/{b['id']}")
    assert "王大爷" in r.text and "已售 2 件" in r.text and "启动召回" in r.text
    r = await desk.post(f"/console/trace/batches/{b['id']}/recall", {"reason": ""})
    assert "请填写召回原因" in r.text
    r = await desk.post(f"/console/trace/batches/{b['id']}/recall", {"reason": "抽检不合格"})
    assert "已启动召回" in r.text and "已召回" in r.text and "位买家" in r.text
    r = await desk.post(f"/console/trace/batches/{b['id']}/recall", {"reason": "抽检不合格"})
    assert r.headers.get("HX-Retarget") == "#flash"   # a second click is told, not a second recall
    # a counterfeit flag, confirmed from its list
    from server.models.trace import TraceCode, TraceFlag

    tc = await TraceCode.filter(batch_id=b["id"]).first()
    flag = await TraceFlag.create(trace_code_id=tc.id, batch_id=b["id"], reason="many_scans")
    r = await desk.page("/console/trace/flags")
    assert f'data-flag="{flag.id}"' in r.text
    r = await desk.post(f"/console/trace/flags/{flag.id}/confirmed")
    assert "已确认假冒" in r.text
    r = await desk.page("/console/trace/flags")
    assert f'data-flag="{flag.id}"' not in r.text
    # the empty list's message, unless another test left an open flag (a complaint's report flag)
    assert "没有待处理的疑似假冒" in r.text or await TraceFlag.filter(status="open").exists()
    r = await desk.page("/console/")
    assert 'href="/console/trace/flags"' in r.text
