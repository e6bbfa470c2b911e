"""Concurrency: item-code issuance never hands one serial out twice; a batch is recalled once."""
from __future__ import annotations

import asyncio

from server.models.trace import Recall, RecallContact, TraceCode
from tests.trace.conftest import make_batch, sell_from_batch


async def test_parallel_item_codes_get_distinct_serials(shop):
    b = await make_batch(shop)
    url = f"/api/v1/merchant/batches/{b['id']}/item-codes"
    rs = await asyncio.gather(*[shop.member.post(url, json={"count": 25}) for _ in range(8)])
    ok = [r.json() for r in rs if r.status_code == 201]
    assert len(ok) == 8, [r.text for r in rs if r.status_code != 201]
    ranges = sorted((o["first_serial"], o["last_serial"]) for o in ok)
    assert ranges == [(1 + 25 * i, 25 * (i + 1)) for i in range(8)]  # contiguous, no overlap
    serials = await TraceCode.filter(batch_id=b["id"], kind="item").values_list("serial", flat=True)
    assert sorted(serials) == list(range(1, 201))


async def test_parallel_recalls_recall_once(admin, shop):
    b = await make_batch(shop)
    await sell_from_batch(shop, b["code"], qty=1)
    url = f"/api/v1/console/trace/batches/{b['id']}/recall"
    rs = await asyncio.gather(*[admin.post(url, json={"reason": f"并发召回{i}"}) for i in range(6)])
    codes = sorted(r.status_code for r in rs)
    assert codes == [201] + [409] * 5, [r.text for r in rs]
    rec = await Recall.get(batch_id=b["id"])
    assert await RecallContact.filter(recall_id=rec.id).count() == 1
