"""库存 and 库存流水 in the console: a merchant reads the stock journal of its own SKUs from the product
page (another merchant's is a 404); the county warehouse and the office list every SKU's stock (by
merchant, by product name; an unknown merchant named beside the field) and read any SKU's journal;
fifty changes a page, newest first."""
from __future__ import annotations

import secrets
from datetime import timedelta

from server.kit import clock
from server.models.catalog import Sku
from server.models.inventory import StockMove
from tests.catalog.conftest import category, create_product, make_shop
from tests.console.conftest import operator, sign_in
from tests.console.test_merchant_desk import desk_sign_in


async def test_a_merchant_and_the_warehouse_read_the_stock_journal(client, settings, app):
    shop = await make_shop(client)
    name = "喀左陈醋" + secrets.token_hex(3)
    p = await create_product(shop, await category(), name=name)   # 100 units: the journal's first line
    sku_id = p["skus"][0]["id"]
    _, phone = await operator("merchant", name="王秀兰", merchant_id=shop.id)
    me = await desk_sign_in(settings, phone, "/console/shop/")
    other_shop = await make_shop(client)
    _, other_phone = await operator("merchant", name="李会计", merchant_id=other_shop.id)
    them = await desk_sign_in(settings, other_phone, "/console/shop/")
    _, wh_phone = await operator("warehouse", name="赵仓管")
    wh = await sign_in(settings, wh_phone)
    try:
        r = await me.page(f"/console/shop/products/{p['id']}")
        assert f'href="/console/shop/skus/{sku_id}/stock-moves"' in r.text
        r = await me.post(f"/console/shop/skus/{sku_id}/stock", {"product_id": str(p["id"]), "delta": "-7"})
        assert "库存已调整为 93 件" in r.text
        r = await me.page(f"/console/shop/skus/{sku_id}/stock-moves")
        assert r.status_code == 200 and f"库存流水 · {name} 500ml" in r.text and 'id="on-hand">93<' in r.text
        rows = r.text.split('data-move="')[1:]
        assert len(rows) == 2 and 'data-reason="adjust"' in rows[0] and "手工调整" in rows[0] and "-7" in rows[0]
        assert 'data-reason="create"' in rows[1] and "+100" in rows[1]  # newest first
        assert (await them.page(f"/console/shop/skus/{sku_id}/stock-moves")).status_code == 404
        assert (await me.page("/console/shop/skus/999999999/stock-moves")).status_code == 404
        # the warehouse: every merchant's SKUs, filtered; the journal of any
        r = await wh.page("/console/warehouse/stock?q=" + name)
        assert f'data-sku="{sku_id}"' in r.text and name in r.text and r.text.count("data-sku=") == 1
        r = await wh.page(f"/console/warehouse/stock?merchant={shop.id}")
        assert f'data-sku="{sku_id}"' in r.text
        r = await wh.page(f"/console/warehouse/stock?merchant={other_shop.id}&q={name}")
        assert f'data-sku="{sku_id}"' not in r.text and "没有符合条件的商品规格" in r.text
        r = await wh.page("/console/warehouse/stock?merchant=999999999")
        assert r.status_code == 200 and 'data-field="merchant"' in r.text and "没有编号为 999999999 的商户" in r.text
        r = await wh.page("/console/warehouse/stock?merchant=没有这个合作社")
        assert 'data-field="merchant"' in r.text and "没有名为“没有这个合作社”的正常营业商户" in r.text
        assert "库存流水" in (await wh.page(f"/console/warehouse/stock/{sku_id}/moves")).text
        assert (await wh.page("/console/warehouse/stock/999999999/moves")).status_code == 404
        assert (await me.page("/console/warehouse/stock")).status_code == 403   # not the merchant's
        # a long journal: fifty a page, newest first, then the next page
        base = clock.now() - timedelta(days=1)
        await StockMove.bulk_create([StockMove(sku_id=sku_id, reason="adjust", d_stock=1, ref_type="sku", ref_id=sku_id,
                                               note=f"盘点{k}", created_at=base + timedelta(minutes=k))
                                     for k in range(60)])
        await Sku.filter(id=sku_id).update(stock=153)
        r = await wh.page(f"/console/warehouse/stock/{sku_id}/moves")
        assert r.text.count("data-move=") == 50 and "盘点59</td>" in r.text and "盘点10</td>" in r.text
        assert "盘点9</td>" not in r.text
        nxt = r.text.split('class="next" href="')[1].split('"')[0].replace("&amp;", "&")
        r = await wh.page(nxt)
        assert r.text.count("data-move=") == 12 and "盘点9</td>" in r.text and "已是最后一页" in r.text
    finally:
        for b in (me, them, wh):
            await b.client.aclose()
