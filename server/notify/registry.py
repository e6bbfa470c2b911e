"""Subscribe-message moments (订阅消息): every moment at which a buyer may get a WeChat subscribe
message, the setting that holds its template id, its template's keywords and the mini-program
screens (scenes) that ask the buyer for it.

    from server.notify import registry

    outcome = await registry.send("pickup_ready", buyer.openid,
                                  {"thing1": station.name, "character_string2": code,
                                   "time3": deadline_at, "thing4": "包裹已到站，请凭提货码自提"},
                                  page_query=f"id={order_id}")

Why a registry: WeChat delivers a subscribe message only if the buyer accepted that template
beforehand (one message per acceptance), and the mini-program can ask only from a tap, with
wx.requestSubscribeMessage, for at most 3 templates at once. So every moment names the scenes whose
tap asks for it; the mini-program calls `GET /api/v1/subscribe-templates?scene=order_paid` and passes
the template ids it gets to `wx.requestSubscribeMessage({tmplIds})`. Template ids live in settings,
never in the mini-program's code, so the office can change a template without a release.

To add a moment (later issues add theirs here):
  1. Add its template id setting to config/settings.py (`wechat_<moment>_template_id` with a
     placeholder default — production refuses to start while any *_template_id still holds its
     default) and the page the card opens if it is a new one; regenerate the env examples
     (`python -m config.envdoc`).
  2. Add a `register(Moment(...))` call at the bottom of this file with the keywords exactly as the
     template in the WeChat admin lists them (thing1, time2, ...): the kind before the digits
     decides how a value is formatted and checked (server/integrations/wechat_keywords.py).
  3. Name the scenes that ask for it. A scene asks for at most 3 moments (WeChat's limit per
     request); register() refuses a fourth at import, so the mistake cannot reach a buyer.
  4. Send with `await registry.send(key, openid, values, page_query=...)`.

What send() does with values: datetimes for time/date keywords become WeChat's format in
Asia/Shanghai (2019年10月1日 15:01); thing values longer than 20 characters are cut with "…"; every
other value must already be valid for its kind. A value WeChat would refuse, or a missing or extra
keyword, raises ValueError before anything is sent: that is a bug in the caller, not bad luck, and a
retry would not help.

What send() returns: "sent", or "refused" when the buyer did not accept the template (WeChat's 43101:
nothing to retry). WeChat's other refusals and network failures raise UpstreamError (details.errcode
when WeChat answered one) for the caller's job to retry. send() touches no database: call it outside
your transaction, after commit — a message cannot be rolled back — and claim the send first (a
conditional update) so two deliveries of the same job do not message the buyer twice."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.integrations import wechat_keywords as kw
from server.kit import runtime
from server.kit.errors import UpstreamError, ValidationFailed

USER_REFUSED = 43101  # the buyer did not accept this template (or cancelled the subscription)
MAX_PER_SCENE = 3     # wx.requestSubscribeMessage takes at most 3 template ids


@dataclass(frozen=True)
class Moment:
    key: str
    title: str                      # what the buyer is told, shown to the office (Chinese)
    template_setting: str           # the Settings field with the template id
    page_setting: str               # the Settings field with the page the message opens
    keywords: tuple[str, ...]       # the template's keywords, e.g. ("thing1", "time3")
    scenes: tuple[str, ...]         # the mini-program screens whose tap asks for it

    def template_id(self) -> str:
        return getattr(runtime.settings(), self.template_setting)


MOMENTS: dict[str, Moment] = {}
SCENES: dict[str, list[str]] = {}


def register(moment: Moment) -> Moment:
    """Add a moment (at import); refuses a duplicate key or a scene asking for more than 3."""
    if moment.key in MOMENTS:
        raise ValueError(f"subscribe moment {moment.key!r} is registered twice")
    for scene in moment.scenes:
        if len(SCENES.get(scene, [])) >= MAX_PER_SCENE:
            raise ValueError(f"scene {scene!r} would ask for more than {MAX_PER_SCENE} templates")
    MOMENTS[moment.key] = moment
    for scene in moment.scenes:
        SCENES.setdefault(scene, []).append(moment.key)
    return moment


def templates_for(scene: str) -> dict:
    """The template ids the mini-program asks for on this screen (wx.requestSubscribeMessage)."""
    keys = SCENES.get(scene)
    if keys is None:
        raise ValidationFailed.field("scene", "one of: " + ", ".join(sorted(SCENES)))
    moments = [MOMENTS[k] for k in keys]
    return {"scene": scene, "template_ids": list(dict.fromkeys(m.template_id() for m in moments)),
            "moments": [{"key": m.key, "title": m.title, "template_id": m.template_id()} for m in moments]}


def render(key: str, values: dict[str, Any]) -> dict:
    """The `data` object of subscribeMessage.send for a moment; ValueError when WeChat would refuse it."""
    moment = MOMENTS[key]
    if set(values) != set(moment.keywords):
        raise ValueError(f"{key}: keywords {sorted(values)} are not the template's {sorted(moment.keywords)}")
    data = {}
    for name in moment.keywords:
        value, kind = values[name], kw.kind_of(name)
        if isinstance(value, datetime):
            if kind not in ("time", "date"):
                raise ValueError(f"{key}.{name}: a datetime for a {kind} keyword")
            value = kw.time_value(value) if kind == "time" else kw.date_value(value)
        elif kind == "thing" and isinstance(value, str):
            value = kw.thing_value(value)
        why = kw.problem(name, value)
        if why:
            raise ValueError(f"{key}.{name}: {why} ({value!r})")
        data[name] = {"value": value}
    return data


async def send(key: str, openid: str, values: dict[str, Any], *, page_query: str = "") -> str:
    """Send one moment's subscribe message: "sent" or "refused" (43101); other failures raise."""
    moment = MOMENTS[key]
    data = render(key, values)
    page = getattr(runtime.settings(), moment.page_setting)
    if page_query:
        page = f"{page}?{page_query}"
    wechat = runtime.get().extras["wechat"]
    try:
        await wechat.send_subscribe_message(openid, moment.template_id(), data, page)
    except UpstreamError as exc:
        if (exc.details or {}).get("errcode") == USER_REFUSED:
            return "refused"
        raise
    return "sent"


# ---- the moments ---------------------------------------------------------------------------------
PICKUP_READY = register(Moment(
    key="pickup_ready", title="包裹到站待自提（含取件提醒）",
    template_setting="wechat_pickup_template_id", page_setting="wechat_pickup_page",
    keywords=("thing1", "character_string2", "time3", "thing4"),
    scenes=("order_paid", "order_detail")))

RECALL = register(Moment(
    key="recall", title="商品召回通知",
    template_setting="wechat_recall_template_id", page_setting="wechat_recall_page",
    keywords=("thing1", "character_string2", "thing3", "thing4"),
    scenes=("order_paid",)))

# complaints and reports (#26): the reporter learns the outcome (the number, the kind, the outcome only)
COMPLAINT_OUTCOME = register(Moment(
    key="complaint_outcome", title="投诉举报处理结果",
    template_setting="wechat_complaint_outcome_template_id", page_setting="wechat_complaint_outcome_page",
    keywords=("character_string1", "thing2", "thing3", "time4"),
    scenes=("complaint_filed",)))
# issue #25: every step of an after-sales case (售后进度). Asked for on the after-sales screens.
AFTERSALES_UPDATE = register(Moment(
    key="aftersales_update", title="售后进度通知",
    template_setting="wechat_aftersales_template_id", page_setting="wechat_aftersales_page",
    keywords=("character_string1", "thing2", "amount3", "time4"),
    scenes=("aftersales_apply", "aftersales_detail")))
# pre-sale (#28): the balance window of a deposit order is open (尾款支付提醒), sent once per order by the
# pre-sale sweep through the outbox: order number, goods, the balance to pay, its deadline.
PRESALE_BALANCE_OPEN = register(Moment(
    key="presale_balance_open", title="预售尾款支付提醒",
    template_setting="wechat_presale_balance_template_id", page_setting="wechat_order_page",
    keywords=("character_string1", "thing2", "amount3", "time4"),
    scenes=("presale_deposit",)))
# ---- the order's, refund's and live preview's moments (issue #29: sent by server/notify/outbox.py) ----
# Keyword formats (WeChat's rules, server/integrations/wechat_keywords.py): character_string the
# order or refund number; thing at most 20 characters (the goods: first product name, "等N件" when
# more); amount "¥12.50" (yuan with two decimals, from integer fen); time "2026年12月6日 12:00" in
# Asia/Shanghai; phrase at most 5 Chinese characters (配送中, 退款成功, 退款失败, 已驳回).
ORDER_PAID = register(Moment(
    key="order_paid", title="支付成功通知",
    template_setting="wechat_order_paid_template_id", page_setting="wechat_order_page",
    keywords=("character_string1", "thing2", "amount3", "time4"),
    scenes=("checkout",)))

ORDER_DISPATCHED = register(Moment(
    key="order_dispatched", title="订单发货通知（发往自提点）",
    template_setting="wechat_order_dispatched_template_id", page_setting="wechat_order_page",
    keywords=("character_string1", "thing2", "thing3", "time4"),
    scenes=("checkout",)))

OUT_FOR_DELIVERY = register(Moment(
    key="out_for_delivery", title="订单配送通知（送货上门）",
    template_setting="wechat_out_for_delivery_template_id", page_setting="wechat_order_page",
    keywords=("character_string1", "thing2", "phrase3", "thing4"),
    scenes=("checkout",)))

REFUND_RESULT = register(Moment(
    key="refund_result", title="退款结果通知",
    template_setting="wechat_refund_result_template_id", page_setting="wechat_refund_page",
    keywords=("character_string1", "amount2", "phrase3", "thing4"),
    scenes=("refund_request",)))

LIVE_STARTING = register(Moment(
    key="live_starting", title="直播开播提醒（已预约）",
    template_setting="wechat_live_starting_template_id", page_setting="wechat_live_page",
    keywords=("thing1", "time2", "thing3"),
    scenes=("live_preview",)))
# gap-d (#30): the buyer learns the merchant replied to their review (asked for when they review).
REVIEW_REPLY = register(Moment(
    key="review_reply", title="商家回复评价提醒",
    template_setting="wechat_review_reply_template_id", page_setting="wechat_review_page",
    keywords=("thing1", "thing2", "time3"),
    scenes=("review_submit",)))
# first-mile collection (#26): the household learns its collection was received at the county warehouse
# (label, goods, units received, time); sent by server/notify/outbox.py, SMS to the producer otherwise.
COLLECTION_RECEIVED = register(Moment(
    key="collection_received", title="揽收货品县仓入库通知",
    template_setting="wechat_collection_received_template_id", page_setting="wechat_collection_page",
    keywords=("character_string1", "thing2", "number3", "time4"),
    scenes=("collection_list",)))
