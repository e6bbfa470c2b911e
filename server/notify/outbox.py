"""The notification outbox (通知发件箱): a message owed to a buyer is written IN the transaction of the
business change that owes it (an order paid, dispatched, out for delivery; a refund's outcome; a
booked live session about to start; each step of an after-sales case), and delivered by a job after
the commit.

    await outbox.add("refund_result", f"refund:{refund.id}:succeeded", user_id=..., order_id=..., conn=conn)

Why an outbox: a subscribe message cannot be rolled back, so it must leave after the commit; a job
enqueued after commit can be lost (Redis is not the source of truth), so the row is the promise and
a sweeper re-finds rows whose job was lost. (moment, ref) is unique and the row is inserted with
ON CONFLICT DO NOTHING, so a moment is owed at most once per subject, even when two transactions
(two parcels of one order dispatched at once) both reach it; a delivery claims the row with a
conditional update first, so two deliveries of the same job send once.

What a delivery does (deliver()): builds the template's values from the database as it is now,
respects the buyer's subscribe choice (a declined template with no acceptance left is not sent),
sends through server/notify/registry.py, and, only for a moment where the buyer must act (a refund
that failed: the buyer has to be paid another way; an after-sales step asking the buyer to send the
goods back or telling a refusal) and no WeChat message reached them (declined, refused, no openid, or
WeChat still failing at the last attempt), an SMS.
Pickup-ready (the other moment where the buyer must act) keeps its own path in
server/stations/uncollected.py."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tortoise.expressions import F

from server.accounts import sms
from server.aftersales.steps import ACTION_STEPS, STEP_TEXT
from server.kit import clock, jobs, runtime
from server.kit import redis as kr
from server.kit.errors import NotFound, UpstreamError, ValidationFailed
from server.integrations import wechat_keywords as kw
from server.kit.money import yuan
from server.models.accounts import RoleGrant, User
from server.models.aftersales import AfterSale
from server.models.catalog import Product
from server.models.collection import Collection
from server.models.line_reviews import LineReview, ReviewStatus
from server.models.live import LiveSession, SessionStatus
from server.models.merchants import Merchant
from server.models.notify import LiveBooking, NotifyOutbox, OutboxStatus, SubscribeChoice
from server.models.orders import Order, OrderLine, OrderStatus
from server.models.payments import Refund
from server.models.presale import PresaleOrder
from server.models.stations import Station
from server.notify import registry
from server.notify.schemas import OrderMessagesOut, OutboxItemOut

log = logging.getLogger("kazuo.notify")
SWEEP_BATCH = 500
STALE_CLAIM = timedelta(minutes=5)  # a delivery claimed longer ago than this crashed (jobs time out at 60 s)

# Order statuses whose reaching owes the buyer a message (orders.service.transition calls order_moved).
ON_ORDER_STATUS = {OrderStatus.PAID: "order_paid", OrderStatus.OUT_FOR_DELIVERY: "out_for_delivery"}
# A refund's outcome as the buyer reads it (phrase: at most 5 Chinese characters) and the note.
REFUND_OUTCOMES = {
    "succeeded": ("退款成功", "款项将原路退回，请留意到账"),
    "rejected": ("已驳回", "如有疑问请联系客服"),
    "failed": ("退款失败", "请联系客服，提供其他收款方式"),
}
AFTERSALES_MOMENT = "aftersales_update"
# Outcomes the buyer must act on: an SMS when no subscribe message reached them.
MUST_ACT = {"refund_result": ("failed",), AFTERSALES_MOMENT: ACTION_STEPS}


def _job_id(moment: str, ref: str) -> str:
    return kr.key("job", f"notify:{moment}:{ref}")


async def add(moment: str, ref: str, *, user_id: int, order_id: int | None = None, conn: Any) -> None:
    """Owe the buyer this moment's message for ref, inside the caller's transaction (once per ref);
    the delivery job leaves after the commit."""
    if moment not in registry.MOMENTS:
        raise ValueError(f"unknown subscribe moment {moment!r}")
    await NotifyOutbox.bulk_create([NotifyOutbox(moment=moment, ref=ref[:64], user_id=user_id, order_id=order_id)],
                                   ignore_conflicts=True, using_db=conn)
    jobs.enqueue("notify.deliver", moment, ref[:64], job_id=_job_id(moment, ref[:64]))


async def order_moved(order_id: int, new_status: str, conn: Any) -> None:
    """Called by orders.service.transition after a guarded status change: owe the message, if any."""
    moment = ON_ORDER_STATUS.get(new_status)
    if moment is None:
        return
    rows = await Order.filter(id=order_id).using_db(conn).values_list("buyer_id", flat=True)
    if rows:
        await add(moment, f"order:{order_id}", user_id=rows[0], order_id=order_id, conn=conn)


async def order_dispatched(order_id: int, conn: Any) -> None:
    """A parcel of the order left the county warehouse towards a pickup station (发货): once per order."""
    rows = await Order.filter(id=order_id).using_db(conn).values_list("buyer_id", "fulfilment")
    if rows and rows[0][1] == "pickup":
        await add("order_dispatched", f"order:{order_id}", user_id=rows[0][0], order_id=order_id, conn=conn)


async def presale_balance_open(order_id: int, buyer_id: int, conn: Any) -> None:
    """A pre-sale deposit order's balance window opened: owe the buyer the reminder (once per order)."""
    await add("presale_balance_open", f"order:{order_id}", user_id=buyer_id, order_id=order_id, conn=conn)


async def refund_outcome(refund_id: int, outcome: str, conn: Any) -> None:
    """A refund succeeded, was rejected or failed: owe the buyer its outcome (once per outcome)."""
    rows = await Refund.filter(id=refund_id, kind="order").using_db(conn).values_list("order_id", "order__buyer_id")
    if rows and outcome in REFUND_OUTCOMES:
        await add("refund_result", f"refund:{refund_id}:{outcome}", user_id=rows[0][1], order_id=rows[0][0],
                  conn=conn)


async def review_replied(review_id: int, conn: Any) -> None:
    """The merchant replied to a review: owe its buyer the reply's message (once per review)."""
    rows = await LineReview.filter(id=review_id).using_db(conn).values_list("buyer_id", "order_id")
    if rows:
        await add("review_reply", f"review:{review_id}", user_id=rows[0][0], order_id=rows[0][1], conn=conn)


def aftersales_ref(case_id: int, step: str) -> str:
    """The subject of an after-sales step's message: one message per (case, step)."""
    return f"aftersales:{case_id}:{step}"


async def aftersales_step(case_id: int, step: str, *, user_id: int, order_id: int, conn: Any) -> None:
    """A step was written in an after-sales case's timeline: owe its buyer the step's message (once per
    case and step; a later step is a message of its own, never a reason to send an earlier one again)."""
    await add(AFTERSALES_MOMENT, aftersales_ref(case_id, step), user_id=user_id, order_id=order_id, conn=conn)


async def collection_received(collection_id: int, merchant_id: int, conn: Any) -> None:
    """A household's collection was received at the county warehouse: owe the household the message
    (once per collection). It goes to the merchant's first member account; a 代卖 household with no
    account (user_id 0) is told by SMS on the producer's contact phone."""
    users = await RoleGrant.filter(merchant_id=merchant_id).using_db(conn).order_by("id").values_list(
        "user_id", flat=True)
    await add("collection_received", f"collection:{collection_id}", user_id=users[0] if users else 0, conn=conn)


# ---- building a moment's values -------------------------------------------------------------------
@dataclass
class Message:
    values: dict[str, Any]
    page_query: str = ""
    must_act: bool = False
    sms_template: str = ""
    sms_params: dict = field(default_factory=dict)
    sms_phone: str = ""  # the SMS goes here rather than to the account's phone (the producer's contact)


def money(fen: int) -> str:
    """An amount keyword: ¥ and yuan with two decimals (WeChat: one currency symbol, ≤10 digits)."""
    return "¥" + yuan(fen)


async def goods_line(order_id: int) -> str:
    """A thing keyword for an order's goods: the first product's name, with 等N件 for the rest."""
    lines = await OrderLine.filter(order_id=order_id).order_by("id").values_list("product_name", "quantity")
    if not lines:
        return "订单商品"
    units = sum(q for _, q in lines)
    suffix = f"等{units}件" if len(lines) > 1 or units > 1 else ""
    name = lines[0][0]
    room = kw.THING_MAX - len(suffix)
    if len(name) > room:
        name = name[:room - 1] + "…"
    return name + suffix


async def _order_message(row: NotifyOutbox) -> Message | None:
    o = await Order.get_or_none(id=row.order_id)
    if o is None:
        return None
    goods, q = await goods_line(o.id), f"id={o.id}"
    if row.moment == "order_paid":
        return Message({"character_string1": o.order_no, "thing2": goods, "amount3": money(o.paid_fen),
                        "time4": o.paid_at or row.created_at}, q)
    if row.moment == "order_dispatched":
        station = await Station.get_or_none(id=o.station_id) if o.station_id else None
        where = f"发往{station.name}" if station else "已从县仓发出"
        # The row was written in the dispatch's transaction: its time is when the goods left.
        return Message({"character_string1": o.order_no, "thing2": goods, "thing3": where,
                        "time4": row.created_at}, q)
    if row.moment == "out_for_delivery":
        return Message({"character_string1": o.order_no, "thing2": goods, "phrase3": "配送中",
                        "thing4": "请保持电话畅通，留意签收"}, q)
    return None


async def _presale_message(row: NotifyOutbox) -> Message | None:
    o = await Order.get_or_none(id=row.order_id)
    po = await PresaleOrder.get_or_none(order_id=row.order_id)
    if o is None or po is None or o.status != OrderStatus.DEPOSIT_PAID or po.balance_ends_at is None:
        return None  # the balance is paid or the order ended before the reminder left: nothing to remind
    return Message({"character_string1": o.order_no, "thing2": await goods_line(o.id),
                    "amount3": money(po.balance_fen), "time4": po.balance_ends_at}, f"id={o.id}&v=balance")


async def _refund_message(row: NotifyOutbox) -> Message | None:
    _, refund_id, outcome = row.ref.split(":")
    r = await Refund.get_or_none(id=int(refund_id))
    if r is None or outcome not in REFUND_OUTCOMES:
        return None
    phrase, note = REFUND_OUTCOMES[outcome]
    order_no = (await Order.filter(id=r.order_id).values_list("order_no", flat=True) or [""])[0]
    return Message({"character_string1": r.refund_no, "amount2": money(r.amount_fen), "phrase3": phrase,
                    "thing4": note}, f"id={r.order_id}&refund={r.id}",
                   must_act=outcome in MUST_ACT["refund_result"],
                   sms_template=runtime.settings().aliyun_sms_refund_template_code,
                   sms_params={"order": order_no, "amount": yuan(r.amount_fen)})


async def _live_message(row: NotifyOutbox) -> Message | None:
    b = await LiveBooking.get_or_none(id=int(row.ref.split(":")[1]))
    s = await LiveSession.get_or_none(id=b.session_id) if b else None
    if s is None or b.cancelled_at is not None or s.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
        return None
    hint = "直播已开始，点击进入直播间" if s.status == SessionStatus.LIVE else "您预约的直播即将开始"
    return Message({"thing1": s.title, "time2": s.started_at or s.scheduled_at, "thing3": hint},
                   f"sid={s.id}&v=remind")


async def _review_message(row: NotifyOutbox) -> Message | None:
    r = await LineReview.get_or_none(id=int(row.ref.split(":")[1]))
    if r is None or r.replied_at is None or r.status != ReviewStatus.VISIBLE:
        return None  # hidden since: the buyer is not sent to a review they cannot read
    name = (await OrderLine.filter(id=r.line_id).values_list("product_name", flat=True) or ["您评价的商品"])[0]
    return Message({"thing1": name, "thing2": r.reply, "time3": r.replied_at}, f"id={r.id}&line={r.line_id}")


async def _collection_message(row: NotifyOutbox) -> Message | None:
    c = await Collection.get_or_none(id=int(row.ref.split(":")[1]))
    if c is None or c.received_at is None:
        return None
    product = (await Product.filter(id=c.product_id).values_list("name", flat=True) or ["农产品"])[0]
    phone = (await Merchant.filter(id=c.merchant_id).values_list("contact_phone", flat=True) or [""])[0]
    qty = str(c.received_qty or 0)
    # must_act: the household is owed the notice by SMS when no subscribe message reached it
    return Message({"character_string1": c.label, "thing2": product, "number3": qty, "time4": c.received_at},
                   f"id={c.id}", must_act=True, sms_template=runtime.settings().aliyun_sms_collection_template_code,
                   sms_params={"label": c.label, "qty": qty}, sms_phone=phone)


async def _aftersales_message(row: NotifyOutbox) -> Message | None:
    _, case_id, step = row.ref.split(":")
    c = await AfterSale.get_or_none(id=int(case_id))
    if c is None:
        return None
    text = STEP_TEXT.get(step, step)
    must_act = step in MUST_ACT[AFTERSALES_MOMENT]
    phone = ""
    if must_act:  # the buyer's phone, or else the one on the order's address
        phone = (await User.filter(id=c.buyer_id).values_list("phone", flat=True) or [""])[0] or ""
        if not phone:
            address = (await Order.filter(id=c.order_id).values_list("address", flat=True) or [None])[0]
            phone = (address or {}).get("phone") or ""
    # The row was written in the step's transaction: its time is the step's.
    return Message({"character_string1": c.case_no, "thing2": text, "amount3": money(c.amount_fen),
                    "time4": row.created_at}, f"id={c.id}", must_act=must_act,
                   sms_template=runtime.settings().aliyun_sms_aftersales_template_code,
                   sms_params={"case": c.case_no[-10:], "step": text[:20]}, sms_phone=phone)


BUILDERS = {"order_paid": _order_message, "order_dispatched": _order_message,
            "out_for_delivery": _order_message, "refund_result": _refund_message,
            "live_starting": _live_message,
            "review_reply": _review_message, "collection_received": _collection_message,
            "presale_balance_open": _presale_message,
            AFTERSALES_MOMENT: _aftersales_message}


# ---- delivery --------------------------------------------------------------------------------------
async def send_subscribed(moment: str, user_id: int, openid: str | None, values: dict[str, Any], *,
                          page_query: str = "") -> str:
    """Send a moment's subscribe message unless the buyer declined its template (#29's rule, shared
    with paths that keep their own state, e.g. a recall): sent | refused | unsubscribed | no_openid.
    The caller sends an SMS only for a moment the buyer must act on and only when this is not "sent";
    WeChat's other failures raise UpstreamError."""
    if not openid:
        return "no_openid"
    template = registry.MOMENTS[moment].template_id()
    choice = await SubscribeChoice.get_or_none(user_id=user_id, template_id=template)
    if choice is not None and choice.declined and choice.accepted <= 0:
        return "unsubscribed"
    outcome = await registry.send(moment, openid, values, page_query=page_query)
    if outcome == "sent" and choice is not None:
        # One acceptance allows one message (a one-time subscription): use it up.
        await SubscribeChoice.filter(id=choice.id, accepted__gt=0).update(accepted=F("accepted") - 1)
    return outcome


async def _wechat(row: NotifyOutbox, user: User, msg: Message) -> str:
    return await send_subscribed(row.moment, user.id, user.openid, msg.values, page_query=msg.page_query)


async def deliver(moment: str, ref: str) -> dict:
    """Deliver one owed message (the job): claim, build, send, record; safe to run twice."""
    s = runtime.settings()
    now = clock.now()
    claimed = await NotifyOutbox.filter(moment=moment, ref=ref, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return {}
    row = await NotifyOutbox.get(moment=moment, ref=ref)
    try:
        msg = await BUILDERS[moment](row)
        user = await User.get_or_none(id=row.user_id)
        if msg is None or (user is None and not msg.sms_phone):  # the subject is gone (a cancelled booking...)
            await NotifyOutbox.filter(id=row.id).update(status=OutboxStatus.DONE, done_at=clock.now(),
                                                        error="nothing to send")
            return {"skipped": True}
        error = ""
        try:
            wechat = await _wechat(row, user, msg) if user is not None else "no_account"
        except UpstreamError as exc:
            if not (msg.must_act and row.attempts >= s.notify_max_attempts):
                raise
            # the last attempt: a buyer who must act is texted rather than never told
            wechat, error = "failed", str(exc)[:200]
        sms_state = ""
        if msg.must_act and wechat != "sent":
            phone = msg.sms_phone or (user.phone if user is not None else "")
            try:
                if phone:
                    await sms.send_notice(phone, msg.sms_template, msg.sms_params, f"notify-{row.id}")
                    sms_state = "sent"
                else:
                    sms_state = "none"
            except ValidationFailed:  # a contact phone that is no mobile number: nobody to text
                sms_state = "none"
    except ValueError as exc:
        # A value WeChat would refuse is a bug in the builder: a retry would not help.
        log.exception("notification cannot be built", extra={"moment": moment, "ref": ref})
        await NotifyOutbox.filter(id=row.id).update(status=OutboxStatus.FAILED, error=str(exc)[:200])
        return {"failed": True}
    except Exception as exc:
        give_up = row.attempts >= s.notify_max_attempts
        await NotifyOutbox.filter(id=row.id).update(
            status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING, error=str(exc)[:200] or type(exc).__name__)
        if give_up:
            log.warning("notification given up", extra={"moment": moment, "ref": ref})
            return {"failed": True}
        raise
    await NotifyOutbox.filter(id=row.id).update(status=OutboxStatus.DONE, wechat=wechat, sms=sms_state,
                                                done_at=clock.now(), error=error)
    return {"wechat": wechat, "sms": sms_state}


async def sweep() -> dict:
    """Re-find owed messages whose job was lost, and deliveries that crashed mid-way."""
    now = clock.now()
    stale = await NotifyOutbox.filter(status=OutboxStatus.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=OutboxStatus.PENDING)
    window = jobs.sweep_window()
    rows = await (NotifyOutbox.filter(status=OutboxStatus.PENDING, created_at__lte=now - timedelta(seconds=30))
                  .order_by("id").limit(SWEEP_BATCH).values_list("moment", "ref"))
    for moment, ref in rows:
        jobs.enqueue("notify.deliver", moment, ref, job_id=_job_id(moment, ref) + f":sweep:{window}")
    return {"requeued": len(rows), "stale": stale}


async def sent_for(order_id: int) -> OrderMessagesOut:
    """What the buyer of an order was told, and how (the office's view; 404 for no such order)."""
    if not await Order.filter(id=order_id).exists():
        raise NotFound("order not found")
    rows = await NotifyOutbox.filter(order_id=order_id).order_by("id")
    return OrderMessagesOut(order_id=order_id, items=[OutboxItemOut(
        moment=r.moment, title=registry.MOMENTS[r.moment].title if r.moment in registry.MOMENTS else r.moment,
        ref=r.ref, status=r.status, wechat=r.wechat, sms=r.sms, attempts=r.attempts, error=r.error,
        created_at=r.created_at, done_at=r.done_at) for r in rows])
