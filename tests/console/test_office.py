"""The county office's console pages over HTTP: each list, its filters and empty state, each form's
validation beside its field, and each action's outcome (including a second click)."""
from __future__ import annotations

import secrets

from tests.catalog.conftest import approve_latest, category, create_product, make_merchant, make_shop, make_station
from tests.console.conftest import new_phone, operator


async def _application(name: str | None = None) -> int:
    from server.models.merchants import Merchant

    m = await Merchant.create(name=name or "申请社" + secrets.token_hex(3), kind="cooperative", status="pending",
                              contact_name="王秀兰", contact_phone=new_phone(), licence_no="L" + secrets.token_hex(6),
                              town="南哨街道", village="四官营子村", description="带动农户种植谷子")
    return m.id


async def test_today_lists_the_queues_with_links(office):
    from server.kit import clock
    from server.models.payments import ReconcileDifference

    await _application()
    r = await office.page("/console/")
    assert r.status_code == 200
    for text in ("商户入驻申请", "商品上架审核", "待审批退款", "服务站锁定告警", "疑似假冒", "配送超时（SLA）",
                 "发货 1 小时后仍未上传发货信息", "今日数据", "系统告警"):
        assert text in r.text, text
    assert 'href="/console/merchants?status=pending"' in r.text
    # The fault alerts (server/alerts) are on the desk while their cause holds.
    row = await ReconcileDifference.create(bill_date=clock.local_today(), kind="payment", ref="DESK" + secrets.token_hex(4),
                                           out_trade_no="", issue="missing_wechat", ours_fen=1, wechat_fen=None,
                                           ours_status="SUCCESS", wechat_status="", source="v3", resolution_note="")
    try:
        r = await office.page("/console/")
        assert "与微信支付对账单的差异尚未处理" in r.text and "严重" in r.text
    finally:
        await row.delete()


async def test_merchant_application_approve_leaves_the_queue(office):
    name = "喀左紫砂" + secrets.token_hex(2)
    mid = await _application(name)
    r = await office.page("/console/merchants?status=pending&q=" + name)
    assert name in r.text
    r = await office.page(f"/console/merchants/{mid}")
    assert "入驻资料" in r.text and "带动农户种植谷子" in r.text
    r = await office.post(f"/console/merchants/{mid}/approve")
    assert "已通过入驻申请" in r.text and "正常" in r.text
    r = await office.page("/console/merchants?status=pending&q=" + name)
    assert f'data-merchant="{mid}"' not in r.text and "没有符合条件的商户" in r.text
    # a second click (or a colleague's) is told plainly
    r = await office.post(f"/console/merchants/{mid}/approve")
    assert r.headers.get("HX-Retarget") == "#flash" and "状态已经改变" in r.text
    r = await office.post(f"/console/merchants/{mid}/approve", htmx=False)
    assert r.status_code == 409 and "状态已经改变" in r.text
    # the trail shows who did it
    r = await office.page(f"/console/merchants/{mid}")
    assert "merchant.approve" in r.text and "127.0.0.1" in r.text


async def test_merchant_reject_needs_a_reason_and_suspend_reinstate(office):
    mid = await _application()
    r = await office.post(f"/console/merchants/{mid}/reject", {"reason": ""})
    assert 'data-field="reason"' in r.text and "请填写原因" in r.text
    r = await office.post(f"/console/merchants/{mid}/reject", {"reason": "证照号与名称不符"})
    assert "已驳回入驻申请" in r.text and "证照号与名称不符" in r.text
    active = await make_merchant(status="active")
    r = await office.post(f"/console/merchants/{active}/suspend", {"reason": "多次售假"})
    assert "已暂停该商户" in r.text
    r = await office.page("/console/merchants?status=suspended")
    assert f'data-merchant="{active}"' in r.text
    r = await office.post(f"/console/merchants/{active}/reinstate")
    assert "已恢复该商户" in r.text


async def test_merchant_list_filters_paging_and_bad_filters(office):
    town = "测试镇" + secrets.token_hex(2)
    from server.models.merchants import Merchant

    for i in range(23):
        await Merchant.create(name=f"翻页社{i}", kind="household", status="active", town=town)
    r = await office.page(f"/console/merchants?status=active&town={town}&kind=household")
    assert r.text.count("data-merchant=") == 20 and "下一页" in r.text
    nxt = r.text.split('class="next" href="')[1].split('"')[0].replace("&amp;", "&")
    r = await office.page(nxt)
    assert r.text.count("data-merchant=") == 3 and "已是最后一页" in r.text and "第一页" in r.text
    r = await office.page(f"/console/merchants?status=active&town={town}&kind=martian")
    assert r.status_code == 200 and 'data-field="kind"' in r.text   # the bad filter is named, the rest apply
    r = await office.page("/console/merchants?status=active&cursor=%%%")
    assert "分页参数无效" in r.text


async def test_product_review_diff_reject_approve_takedown(office, client):
    from tests.conftest import login_as

    cat = await category()
    shop = await make_shop(client)
    p = await create_product(shop, cat, name="喀左陈醋" + secrets.token_hex(2))
    await shop.member.post(f"/api/v1/merchant/products/{p['id']}/submit")
    admin = await login_as(client, "admin")
    await approve_latest(admin, p["id"])
    # a change to the on-sale product waits for review beside the approved version
    r = await shop.member.patch(f"/api/v1/merchant/products/{p['id']}", json={"name": "喀左老陈醋新版"})
    assert r.status_code == 200, r.text
    r = await office.page("/console/reviews?kind=revision&q=" + p["name"])
    assert r.text.count("data-review=") == 1 and "在售商品修改" in r.text
    r = await office.page("/console/reviews?q=没有这个商品")
    assert "没有名称含“没有这个商品”的审核记录" in r.text
    from server.models.catalog_reviews import ProductReview

    rid = (await ProductReview.get(product_id=p["id"], kind="revision", status="pending")).id
    r = await office.page(f"/console/reviews/{rid}")
    assert p["name"] in r.text and "喀左老陈醋新版" in r.text and 'class="changed"' in r.text
    r = await office.post(f"/console/reviews/{rid}/reject", {"reason": ""})
    assert 'data-field="reason"' in r.text
    r = await office.post(f"/console/reviews/{rid}/approve")
    assert "已通过审核" in r.text
    r = await office.post(f"/console/reviews/{rid}/approve")
    assert "已经处理过了" in r.text
    r = await office.post(f"/console/reviews/{rid}/takedown", {"reason": ""})
    assert 'data-field="takedown_reason"' in r.text
    r = await office.post(f"/console/reviews/{rid}/takedown", {"reason": "抽检不合格"})
    assert "已监管下架该商品" in r.text
    r = await office.page("/console/reviews?status=pending&kind=revision")
    assert f"/console/reviews/{rid}\"" not in r.text


async def test_users_search_create_grant_revoke(office):
    st = await make_station()
    from server.models.stations import Station

    code = (await Station.get(id=st)).code
    r = await office.post("/console/users", {"name": "", "phone": "123"})
    assert 'data-field="name"' in r.text and 'data-field="phone"' in r.text and 'value="123"' in r.text
    phone = new_phone()
    r = await office.post("/console/users", {"name": "刘站长", "phone": phone})
    target = r.headers.get("HX-Redirect")
    assert target and target.startswith("/console/users/")
    uid = int(target.rsplit("/", 1)[1])
    r = await office.page(f"/console/users?q={phone[:7]}")
    assert f'data-user="{uid}"' in r.text and "刘站长" in r.text
    r = await office.page(f"/console/users?q={uid}")
    assert f'data-user="{uid}"' in r.text
    r = await office.page("/console/users?q=没有这个人" + secrets.token_hex(3))
    assert "没有符合条件的用户" in r.text
    r = await office.post(f"/console/users/{uid}/grants", {"role": "station_staff", "station": ""})
    assert 'data-field="station"' in r.text
    r = await office.post(f"/console/users/{uid}/grants", {"role": "station_staff", "station": "不存在的站"})
    assert "没有名称或编码为" in r.text
    r = await office.post(f"/console/users/{uid}/grants", {"role": "station_staff", "station": code, "is_head": "on"})
    assert "已授予服务站工作人员角色" in r.text and "（站长）" in r.text
    r = await office.page("/console/users?role=station_staff&q=" + phone)
    assert f'data-user="{uid}"' in r.text
    from server.models.accounts import RoleGrant

    g = await RoleGrant.get(user_id=uid)
    r = await office.post(f"/console/users/{uid}/grants/{g.id}/revoke")
    assert "已撤销该角色" in r.text
    r = await office.page(f"/console/users/{uid}")
    assert "role.grant" in r.text or "该用户没有后台角色" in r.text


async def test_audit_feed_filters_and_paging(office):
    uid, _ = await operator("admin")
    from server.kit import audit

    for i in range(55):
        await audit.record(uid, "test.page", "thing", i)
    r = await office.page(f"/console/audit?actor_id={uid}&action=test.")
    assert r.text.count("test.page") == 50 and "下一页" in r.text
    nxt = r.text.split('class="next" href="')[1].split('"')[0].replace("&amp;", "&")
    r = await office.page(nxt)
    assert r.text.count("test.page") == 5
    r = await office.page(f"/console/audit?actor_id={uid}&object_type=thing&object_id=7")
    assert r.text.count("test.page") == 1
    r = await office.page("/console/audit?since=yesterday")
    assert 'data-field="since"' in r.text and "请输入日期" in r.text
    r = await office.page(f"/console/audit?actor_id={uid}&since=2000-01-01&until=2000-01-02")
    assert "没有符合条件的记录" in r.text


async def test_console_json_operations(client, admin):
    phone = new_phone()
    r = await admin.post("/api/v1/console/operators", json={"name": "周会计", "phone": phone})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = await admin.get("/api/v1/console/users", params={"q": phone})
    assert [u["id"] for u in r.json()["items"]] == [uid]
    r = await admin.get("/api/v1/console/audit", params={"action": "user.create_operator", "limit": 5})
    assert r.status_code == 200 and r.json()["items"][0]["object_id"] == str(uid)
    assert r.json()["items"][0]["ip"] == "127.0.0.1"
    r = await admin.get("/api/v1/console/today")
    assert r.status_code == 200 and {q["key"] for q in r.json()["queues"]} >= {"merchant_applications", "refunds_waiting"}
    r = await admin.get("/api/v1/console/refunds", params={"status": "requested"})
    assert r.status_code == 200 and "items" in r.json()
    r = await admin.post("/api/v1/console/operators", json={"name": "", "phone": "1"})
    assert r.status_code == 422
    r = await admin.get("/api/v1/console/brands")
    assert {"kazuo_zisha", "kazuo_vinegar", "kazuo_grains"} <= {b["code"] for b in r.json()}   # the defaults
    r = await admin.post("/api/v1/console/categories", json={"name": "山货", "slug": "s" + secrets.token_hex(3)})
    assert r.status_code == 201
    r = await admin.patch(f"/api/v1/console/categories/{r.json()['id']}", json={"hidden": True})
    assert r.status_code == 200 and r.json()["hidden"] is True
    assert any(c["hidden"] for c in (await admin.get("/api/v1/console/categories")).json())


async def test_station_tree_create_edit_and_head(office, client):
    prefix = "ST" + secrets.token_hex(2).upper()
    r = await office.post("/console/stations", {"code": f"{prefix}-C", "name": "", "level": "county"})
    assert 'data-field="name"' in r.text and f'value="{prefix}-C"' in r.text
    r = await office.post("/console/stations", {"code": f"{prefix}-C", "name": "喀左县级中心", "level": "county"})
    county = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    r = await office.post("/console/stations", {"code": f"{prefix}-T", "name": "公营子镇中心", "level": "town",
                                                "parent_code": "NOPE", "town": "公营子镇"})
    assert "没有编码为 NOPE 的服务站" in r.text
    r = await office.post("/console/stations", {"code": f"{prefix}-T", "name": "公营子镇中心", "level": "town",
                                                "parent_code": f"{prefix}-C", "town": "公营子镇"})
    town = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    r = await office.post("/console/stations", {"code": f"{prefix}-T", "name": "重复", "level": "town",
                                                "parent_code": f"{prefix}-C"})
    assert "该编码已被使用" in r.text
    r = await office.page(f"/console/stations?parent_id={county}")
    assert f'data-station="{prefix}-T"' in r.text and "喀左县级中心" in r.text   # the tree's trail
    r = await office.page(f"/console/stations?parent_id={town}")
    assert "该站点下还没有下级站点" in r.text
    r = await office.post(f"/console/stations/{town}", {"name": "公营子镇服务中心", "status": "active",
                                                        "contact_phone": "abc"})
    assert 'data-field="contact_phone"' in r.text
    r = await office.post(f"/console/stations/{town}", {"name": "公营子镇服务中心", "status": "active",
                                                        "contact_phone": "0421-1234567", "town": "公营子镇"})
    assert "已保存" in r.text and "0421-1234567" in r.text
    from tests.conftest import login_as

    worker = await login_as(client, "station_staff", station_id=town)
    r = await office.post(f"/console/stations/{town}/head/{worker.id}")
    assert "已设为站长" in r.text


async def test_categories_and_brands_as_data(office, client):
    from server.models.catalog import Brand, Product
    from tests.catalog.conftest import on_sale
    from tests.conftest import login_as

    slug = "c" + secrets.token_hex(3)
    r = await office.post("/console/taxonomy/categories", {"name": "", "slug": "Bad Slug"})
    assert 'data-field="name"' in r.text and 'data-field="slug"' in r.text and 'value="Bad Slug"' in r.text
    r = await office.post("/console/taxonomy/categories", {"name": "蜂蜜", "slug": slug, "sort": "5",
                                                          "is_farm_product": "on"})
    assert "已新建类目“蜂蜜”" in r.text and f'data-category="{slug}"' in r.text
    r = await office.post("/console/taxonomy/categories", {"name": "蜂蜜2", "slug": slug})
    assert "该代码已被其他类目使用" in r.text
    code = "kz_" + secrets.token_hex(3)
    r = await office.post("/console/taxonomy/brands", {"name": "喀左蜂蜜", "code": "X"})
    assert 'data-field="code"' in r.text and "2–16 位" in r.text
    r = await office.post("/console/taxonomy/brands", {"name": "喀左蜂蜜", "code": code, "sort": "9"})
    assert "已新建区域品牌“喀左蜂蜜”" in r.text
    # a product of the new category and brand; renaming both rebuilds its search text
    from server.models.catalog import Category

    cat = await Category.get(slug=slug)
    shop = await make_shop(client)
    admin = await login_as(client, "admin")
    p = await on_sale(shop, admin, cat.id, brand=code, name="百花蜜" + secrets.token_hex(2))
    assert "喀左蜂蜜" in (await Product.get(id=p["id"])).search_text
    brand = await Brand.get(code=code)
    r = await office.post(f"/console/taxonomy/brands/{brand.id}", {"name": "喀左山花蜜", "sort": "9"})
    assert "已保存区域品牌“喀左山花蜜”" in r.text
    r = await office.post(f"/console/taxonomy/categories/{cat.id}", {"name": "蜂产品", "sort": "5",
                                                                    "is_farm_product": "on"})
    text = (await Product.get(id=p["id"])).search_text
    assert "喀左山花蜜" in text and "蜂产品" in text and "喀左蜂蜜" not in text
    r = await client.get("/api/v1/products", params={"q": "山花蜜"})
    assert p["id"] in [x["id"] for x in r.json()["items"]], r.text
    # hidden: out of the storefront's tree and home, not offered to new products
    r = await office.post(f"/console/taxonomy/categories/{cat.id}", {"name": "蜂产品", "sort": "5", "hidden": "on"})
    tree = (await client.get("/api/v1/categories")).json()
    assert slug not in str(tree)
    r = await office.post(f"/console/taxonomy/brands/{brand.id}", {"name": "喀左山花蜜", "sort": "9", "hidden": "on"})
    home = (await client.get("/api/v1/home")).json()
    assert code not in [b["brand"] for b in home["brands"]]
    r = await shop.member.post(f"/api/v1/merchant/merchants/{shop.id}/products",
                               json={"category_id": cat.id, "name": "新蜜", "brand": code,
                                     "skus": [{"spec": "500g", "price": 100, "stock": 1}]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "brand"
    r = await office.post(f"/console/taxonomy/brands/{brand.id}", {"name": "", "sort": "9"})
    assert "名称不能为空" in r.text


async def test_statistics_figures_exports_and_screen_tokens(office):
    r = await office.page("/console/statistics")
    assert r.status_code == 200 and 'id="headline"' in r.text and "目标增幅" in r.text
    link = r.text.split('href="/api/v1/console/stats/export/headline?format=csv')[1].split('"')[0]
    r2 = await office.client.get("/api/v1/console/stats/export/headline?format=csv" + link.replace("&amp;", "&"))
    assert r2.status_code == 200 and r2.headers["content-type"].startswith("text/csv")
    r = await office.page("/console/statistics?from=2026-02-30")
    assert 'data-field="from"' in r.text
    r = await office.page("/console/statistics?from=2026-12-01&to=2026-01-01")
    assert r.status_code == 200 and 'data-field="from"' in r.text   # an inverted range is named, not a 500
    r = await office.post("/console/statistics/screen-tokens", {"name": ""})
    assert "请填写大屏所在位置" in r.text
    r = await office.post("/console/statistics/screen-tokens", {"name": "县电商公共服务中心大厅"})
    assert "/screen?token=" in r.text
    url = r.text.split('<code id="screen-url">')[1].split("</code>")[0]
    assert (await office.client.get(url.replace("&amp;", "&"))).status_code in (200, 302)   # the screen opens
    tid = int(r.text.split('data-token="')[1].split('"')[0])
    r = await office.post(f"/console/statistics/screen-tokens/{tid}/revoke")
    assert "已撤销" in r.text


async def test_certificate_expiry_list(office, client, admin):
    from datetime import timedelta

    from server.kit import clock
    from server.models.catalog import Certification

    cat = await category()
    shop = await make_shop(client)
    p = await create_product(shop, cat, name="喀左小米" + secrets.token_hex(2))
    today = clock.local_today()
    soon = await Certification.create(product_id=p["id"], kind="green", number="LB-" + secrets.token_hex(3),
                                      expires_on=today + timedelta(days=10))
    gone = await Certification.create(product_id=p["id"], kind="sc_licence", number="SC-" + secrets.token_hex(3),
                                      expires_on=today - timedelta(days=3))
    later = await Certification.create(product_id=p["id"], kind="organic", number="OR-" + secrets.token_hex(3),
                                       expires_on=today + timedelta(days=80))
    r = await office.page("/console/reviews/certificates?days=30")
    assert f'data-cert="{soon.id}"' in r.text and f'data-cert="{gone.id}"' in r.text
    assert f'data-cert="{later.id}"' not in r.text and "绿色食品" in r.text
    assert r.text.index(f'data-cert="{gone.id}"') < r.text.index(f'data-cert="{soon.id}"')   # soonest first
    r = await office.page("/console/reviews/certificates?days=0")
    assert f'data-cert="{gone.id}"' in r.text and f'data-cert="{soon.id}"' not in r.text
    r = await office.page("/console/reviews/certificates?days=90")
    assert f'data-cert="{later.id}"' in r.text
    r = await office.page("/console/reviews/certificates?days=999")   # out of range: the default 30 days
    assert r.status_code == 200 and f'data-cert="{soon.id}"' in r.text and f'data-cert="{later.id}"' not in r.text
    # keyset pages through the JSON operation, soonest first; only this product's rows counted
    seen, cursor = [], None
    while True:
        params = {"days": 30, "limit": 1, **({"cursor": cursor} if cursor else {})}
        body = (await admin.get("/api/v1/console/certificates/expiring", params=params)).json()
        seen += [c["id"] for c in body["items"] if c["product_id"] == p["id"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [gone.id, soon.id]


async def test_station_tree_opens_in_place(office):
    from server.models.stations import Station

    prefix = "TR" + secrets.token_hex(2).upper()
    county = await Station.create(code=f"{prefix}-C", name="树县中心", level="county")
    town = await Station.create(code=f"{prefix}-T", name="树镇中心", level="town", parent_id=county.id, town="南公营子镇")
    await Station.create(code=f"{prefix}-V", name=f"树村站{prefix}", level="village", parent_id=town.id, village="三家村")
    r = await office.page("/console/stations")
    assert 'id="station-tree"' in r.text and f'data-node="{prefix}-C"' in r.text
    assert f'hx-get="/console/stations/{county.id}/children"' in r.text and f'data-node="{prefix}-T"' not in r.text
    r = await office.client.get(f"/console/stations/{county.id}/children", headers={"HX-Request": "true"})
    assert r.status_code == 200 and f'data-node="{prefix}-T"' in r.text and "南公营子镇" in r.text
    assert f'hx-get="/console/stations/{town.id}/children"' in r.text and "<html" not in r.text
    r = await office.client.get(f"/console/stations/{town.id}/children", headers={"HX-Request": "true"})
    assert f'data-node="{prefix}-V"' in r.text and "hx-get" not in r.text   # a village is a leaf
    v = await Station.get(code=f"{prefix}-V")
    r = await office.client.get(f"/console/stations/{v.id}/children", headers={"HX-Request": "true"})
    assert "该站点下还没有下级站点" in r.text
    # a plain visit (no script) gets the drill-down list; a search still lists a table
    r = await office.client.get(f"/console/stations/{county.id}/children")
    assert r.status_code == 303 and r.headers["location"] == f"/console/stations?parent_id={county.id}"
    r = await office.page(f"/console/stations?q={prefix}-V")
    assert f'data-station="{prefix}-V"' in r.text
    assert 'id="station-tree"' not in r.text
    r = await office.client.get("/console/stations/999999999/children", headers={"HX-Request": "true"})
    assert "未找到" in r.text


async def test_page_reads_take_turns_and_actions_do_not_wait(office, monkeypatch):
    """At most KAZUO_CONSOLE_PAGES_AT_ONCE page reads are worked on at once in a process (the others wait
    their turn); an action is answered while every read slot is held."""
    import asyncio

    from server.kit import runtime
    from server.office import service as office_service

    slots = runtime.settings().console_pages_at_once
    real, gate = office_service.today, asyncio.Event()
    inside = peak = 0

    async def held():
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        try:
            await gate.wait()
            return await real()
        finally:
            inside -= 1

    monkeypatch.setattr(office_service, "today", held)
    reads = [asyncio.ensure_future(office.page("/console/")) for _ in range(slots + 3)]
    try:
        async with asyncio.timeout(10):
            while inside < slots:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert inside == slots   # the other three wait for a turn
        # an action, answered now: its message (no such merchant) swapped into the page's message area
        r = await office.post("/console/merchants/0/approve")
        assert r.headers.get("HX-Retarget") == "#flash" and inside == slots
    finally:
        gate.set()
    assert [r.status_code for r in await asyncio.gather(*reads)] == [200] * (slots + 3)
    assert peak == slots
