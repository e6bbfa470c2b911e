"""Subscribe messages (issue #20): WeChat's documented keyword formats (time: 2019年10月1日 15:01 in
Asia/Shanghai), a simulator that refuses other formats, the registry of moments and the API that tells
the mini-program which template ids to request on a screen."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from server.integrations import wechat_keywords as kw
from server.kit import runtime
from server.kit.errors import UpstreamError
from server.notify import registry
from tests.conftest import login


@pytest.mark.parametrize("keyword,value", [
    ("time3", "2019年10月1日 15:01"), ("time3", "15:01"), ("time1", "2019年10月1日 09:05~2019年10月1日 18:00"),
    ("date2", "2019年10月1日"), ("date2", "2019年10月1日 15:01"), ("thing1", "包裹已到站，请凭提货码自提"),
    ("thing4", "x" * 20), ("character_string2", "B-2026.10_01"), ("number1", "12.50"), ("phrase3", "配送中"),
    ("amount2", "¥12.50"), ("amount2", "100元"), ("phone_number5", "+86-0421-12345678"), ("letter1", "abc"),
    ("name6", "张三"), ("car_number1", "辽N12345"), ("symbol1", "%"),
])
def test_values_wechat_accepts(keyword, value):
    assert kw.problem(keyword, value) is None


@pytest.mark.parametrize("keyword,value", [
    ("time3", "2019-10-01 15:01"), ("time3", "2023-03-24 11:50:00"), ("time3", "2019年10月1日"),
    ("time3", "2019年13月1日 15:01"), ("time3", "25:00"), ("date2", "2019-10-01"), ("date2", "10月1日"),
    ("thing1", "x" * 21), ("thing1", ""), ("character_string2", "批次B1"), ("character_string2", "x" * 33),
    ("number1", "12a"), ("phrase3", "正在配送中啊"), ("phrase3", "ok"), ("letter1", "ab1"), ("symbol1", "%%%%%%"),
    ("name6", "张三李四王五赵六钱七孙"), ("phone_number5", "1" * 18), ("thing1", None),
])
def test_values_wechat_refuses(keyword, value):
    assert kw.problem(keyword, value) is not None


def test_time_and_date_are_written_in_shanghai_as_wechat_shows():
    at = datetime(2019, 10, 1, 7, 1, tzinfo=timezone.utc)  # 15:01 in Asia/Shanghai
    assert kw.time_value(at) == "2019年10月1日 15:01"
    assert kw.date_value(datetime(2019, 12, 31, 16, 30, tzinfo=timezone.utc)) == "2020年1月1日"
    assert kw.thing_value("喀左县南公营子镇小城子村村级服务站点") == "喀左县南公营子镇小城子村村级服务站点"
    assert kw.thing_value("x" * 25) == "x" * 19 + "…"


def test_render_formats_and_checks_every_keyword():
    data = registry.render("pickup_ready", {"thing1": "喀左县大城子街道办事处瓦房店村党群综合服务站", "character_string2": "482913",
                                            "time3": datetime(2026, 12, 6, 4, 0, tzinfo=timezone.utc),
                                            "thing4": "包裹已到站，请凭提货码自提"})
    assert data["time3"] == {"value": "2026年12月6日 12:00"}
    assert len(data["thing1"]["value"]) == 20 and data["thing1"]["value"].endswith("…")
    with pytest.raises(ValueError, match="keywords"):
        registry.render("pickup_ready", {"thing1": "a"})
    with pytest.raises(ValueError, match="character_string2"):
        registry.render("pickup_ready", {"thing1": "a", "character_string2": "取件码一", "time3": datetime.now(timezone.utc),
                                         "thing4": "b"})
    with pytest.raises(ValueError, match="datetime for a thing"):
        registry.render("recall", {"thing1": datetime.now(timezone.utc), "character_string2": "B1", "thing3": "c",
                                   "thing4": "d"})


def test_a_scene_asks_for_at_most_three_templates(monkeypatch):
    monkeypatch.setattr(registry, "MOMENTS", dict(registry.MOMENTS))
    monkeypatch.setattr(registry, "SCENES", {k: list(v) for k, v in registry.SCENES.items()})

    def moment(key):
        return registry.Moment(key=key, title="t", template_setting="wechat_pickup_template_id",
                               page_setting="wechat_pickup_page", keywords=("thing1",), scenes=("order_paid",))

    with pytest.raises(ValueError, match="twice"):
        registry.register(moment("recall"))
    registry.register(moment("third"))  # order_paid: pickup_ready, recall, third
    with pytest.raises(ValueError, match="more than 3"):
        registry.register(moment("fourth"))
    assert "fourth" not in registry.MOMENTS


async def test_the_miniprogram_learns_which_templates_to_request(client, settings):
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "order_paid"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["template_ids"] == [settings.wechat_pickup_template_id, settings.wechat_recall_template_id]
    assert [m["key"] for m in body["moments"]] == ["pickup_ready", "recall"]
    r = await client.get("/api/v1/subscribe-templates", params={"scene": "order_detail"})
    assert r.json()["template_ids"] == [settings.wechat_pickup_template_id]
    for params in ({"scene": "nowhere"}, {}, {"scene": "Bad Scene!"}):
        r = await client.get("/api/v1/subscribe-templates", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["details"][0]["field"] == "scene"


async def test_the_simulator_refuses_what_wechat_refuses(client):
    actor = await login(client)
    from server.models.accounts import User

    openid = (await User.get(id=actor.id)).openid
    wechat = runtime.get().extras["wechat"]
    good = registry.render("recall", {"thing1": "小米", "character_string2": "B1", "thing3": "抽检不合格",
                                      "thing4": "请停止食用"})
    tid = registry.MOMENTS["recall"].template_id()
    for key, value, why in (("thing3", "2019-10-01 15:01", None), ("time9", "2019-10-01 15:01", "invalid time"),
                            ("thing3", "x" * 21, "exceeds limit"), ("character_string2", "批次", "invalid")):
        data = {**good, key: {"value": value}}
        if why is None:
            await wechat.send_subscribe_message(openid, tid, data, "pages/order/detail")
            continue
        with pytest.raises(UpstreamError) as err:
            await wechat.send_subscribe_message(openid, tid, data, "pages/order/detail")
        assert err.value.details["errcode"] == 47003 and why in err.value.message
    with pytest.raises(UpstreamError) as err:
        await wechat.send_subscribe_message(openid, "not-a-template-of-ours", good, "pages/order/detail")
    assert err.value.details["errcode"] == 40037


async def test_send_reports_sent_or_refused(client):
    actor = await login(client)
    from server.models.accounts import User

    openid = (await User.get(id=actor.id)).openid
    values = {"thing1": "小米", "character_string2": "B1", "thing3": "抽检不合格", "thing4": "请停止食用"}
    assert await registry.send("recall", openid, values, page_query="id=7") == "sent"
    items = (await client.get("/__sim__/wechat/subscribe-messages", params={"touser": openid})).json()["items"]
    assert items[0]["page"] == "pages/order/detail?id=7" and items[0]["data"]["thing3"]["value"] == "抽检不合格"
    await client.post("/__sim__/wechat/subscribe-refuse", json={"touser": openid})
    assert await registry.send("recall", openid, values) == "refused"
