"""WeChat order shipping information (小程序发货信息管理, upload_shipping_info): WeChat holds the
settlement of an order paid by JSAPI in the mini-program until its shipping is uploaded, so every
such task that leaves the warehouse is uploaded once: third-party courier (logistics_type 1, company +
tracking number), local delivery (2, 同城配送) or pickup at a station (4, 用户自提). Orders paid in
cash at a station or by NATIVE (a scanned code) are not the mini-program's: nothing is uploaded
(`not_required`).

What WeChat's answer means (its documented error codes for upload_shipping_info):
  * 0 — uploaded. 10060023 (发货信息未更新，支付单信息不变) — WeChat already holds exactly this
    information (an earlier attempt whose answer was lost): uploaded too.
  * Worth trying again, with backoff: no answer (network, deadline), -1 / 10060012 / 10060019 (系统
    繁忙), a refused access token (40001, 40014, 42001), rate limits (45009, 45011), and 10060001
    (支付单不存在) for the first minutes after payment only: WeChat's staff say a payment reaches
    the shipping service about a minute after it is paid.
  * Everything else is final and goes to the office as `needs_person` (console:
    GET /api/v1/console/warehouse/shipping-uploads): 10060001 after that window (not a mini-program
    payment WeChat knows), 10060002 (支付单已完成发货：shipped and closed by someone else, e.g. by
    hand in the WeChat admin), 10060003 (the one allowed re-upload is spent), 10060004 (支付单处于不可
    发货的状态: refunded or closed), 10060031 (the payer is not this openid) and every parameter
    error (a retry would send the same body). A task still failing after MAX_ATTEMPTS transient
    tries goes there too. A person settles it in the WeChat admin, then marks it resolved, or asks
    for one more try.

Newest work is never starved by old failures: the sweeper has two lanes — first attempts, newest
shipment first, and retries due by their own backoff (next attempt time) — each with its own batch."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tortoise.expressions import F

from server.fulfillment.schemas import ShippingResolveOut, ShippingUploadOut
from server.kit import audit, clock, runtime
from server.kit.db import atomic, id_page
from server.kit.errors import Conflict, NotFound, RateLimited, UpstreamError
from server.kit.schemas import Page
from server.models.accounts import User
from server.models.fulfillment import FulfillmentTask, Parcel, TaskStatus
from server.models.orders import Order, OrderLine
from server.models.payments import Payment, PaymentStatus
from server.fulfillment.errors import FulfillmentCode

log = logging.getLogger("kazuo.shipping")
PATH = "wxa/sec/order/upload_shipping_info"
LOGISTICS = {"courier": 1, "delivery": 2, "pickup": 4}
MINIPROGRAM_METHOD = "wechat_jsapi"


class ShippingState:
    PENDING = "pending"
    UPLOADED = "uploaded"
    NEEDS_PERSON = "needs_person"
    NOT_REQUIRED = "not_required"
    RESOLVED = "resolved"


S = ShippingState
UNCHANGED = 10060023        # 发货信息未更新，支付单信息不变: WeChat already has exactly this
ORDER_NOT_FOUND = 10060001  # 支付单不存在
TRANSIENT = {-1, 10060012, 10060019, 40001, 40014, 42001, 45009, 45011}
NOT_FOUND_GRACE = timedelta(minutes=10)  # a fresh payment may not have reached WeChat's shipping service
MAX_ATTEMPTS = 12
FIRST_DELAY = timedelta(minutes=2)   # a first upload waits for its own job this long before the sweeper
FRESH_BATCH = 200
RETRY_BATCH = 50
FINAL_MESSAGES = {
    10060001: "微信查不到这笔支付单（非小程序支付或商户号不符）",
    10060002: "支付单已完成发货，无法继续发货（可能已在微信后台手动发货）",
    10060003: "支付单已用掉唯一一次重新发货机会",
    10060004: "支付单处于不可发货的状态（已退款或已关闭）",
    10060031: "支付单不属于该买家的 openid",
}


def backoff(attempts: int) -> timedelta:
    """Wait before try number attempts+1: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else ""


async def _paid_by(order: Order) -> tuple[str, str]:
    """How the order was paid and the out_trade_no WeChat knows it by."""
    pay = await Payment.filter(order_id=order.id, status=PaymentStatus.PAID).order_by("-id").first()
    if pay is not None:
        return pay.method, pay.out_trade_no
    return order.payment_method, order.order_no


async def payload(task_id: int) -> dict | None:
    """The upload_shipping_info body for a shipped task (None when it is not shipped)."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None or task.status != TaskStatus.SHIPPED:
        return None
    order = await Order.get(id=task.order_id)
    _, out_trade_no = await _paid_by(order)
    buyer = await User.get(id=order.buyer_id)
    names = await OrderLine.filter(order_id=order.id).order_by("id").values_list("product_name", flat=True)
    desc = "、".join(names)
    desc = desc if len(desc) <= 120 else desc[:119] + "…"
    kind = "courier" if task.mode == "courier" else task.fulfilment
    parcels = await Parcel.filter(task_id=task_id).order_by("id")
    phone = str((order.address or {}).get("phone") or "")
    if kind == "courier":
        shipping_list = [{"tracking_no": p.tracking_no, "express_company": p.courier_company, "item_desc": desc,
                          "contact": {"receiver_contact": _mask(phone)}} for p in parcels if p.tracking_no]
    else:
        shipping_list = [{"item_desc": desc}]
    body = {
        "order_key": {"order_number_type": 1, "mchid": runtime.settings().wechat_mch_id,
                      "out_trade_no": out_trade_no},
        "logistics_type": LOGISTICS[kind],
        "delivery_mode": 2 if len(shipping_list) > 1 else 1,
        "shipping_list": shipping_list,
        "upload_time": clock.now().astimezone(clock.SHANGHAI).isoformat(timespec="milliseconds"),
        "payer": {"openid": buyer.openid or ""},
    }
    if body["delivery_mode"] == 2:
        body["is_all_delivered"] = True
    return body


def verdict(errcode: int | None, paid_at: datetime | None, now: datetime) -> str:
    """What a refusal means: "uploaded", "retry" or "final" (see the module doc)."""
    if errcode == UNCHANGED:
        return "uploaded"
    if errcode is None or errcode in TRANSIENT:
        return "retry"
    if errcode == ORDER_NOT_FOUND and paid_at is not None and now - paid_at < NOT_FOUND_GRACE:
        return "retry"
    return "final"


async def upload(task_id: int) -> str:
    """Upload one shipped task's shipping information; returns the task's shipping state after it.
    Never raises for WeChat's answers: a failure is recorded on the task (retry time or needs_person)."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None or task.status != TaskStatus.SHIPPED or task.shipping_uploaded_at is not None:
        return task.shipping_state if task else ""
    if task.shipping_state != S.PENDING:
        return task.shipping_state
    pending = FulfillmentTask.filter(id=task_id, shipping_state=S.PENDING, shipping_attempts=task.shipping_attempts)
    order = await Order.get(id=task.order_id)
    method, _ = await _paid_by(order)
    if method != MINIPROGRAM_METHOD:
        await pending.update(shipping_state=S.NOT_REQUIRED, shipping_error=f"paid by {method or 'nothing'}"[:200])
        return S.NOT_REQUIRED
    body = await payload(task_id)
    now = clock.now()
    errcode: int | None = None
    try:
        await runtime.get().extras["wechat"].post(PATH, body)
        outcome = "uploaded"
    except RateLimited:
        errcode, message, outcome = 45011, "WeChat rate limit", "retry"
    except UpstreamError as exc:
        errcode = (exc.details or {}).get("errcode")
        message = exc.message
        outcome = verdict(errcode, order.paid_at, now)
    if outcome == "uploaded":
        await pending.update(shipping_state=S.UPLOADED, shipping_uploaded_at=now, shipping_errcode=errcode,
                             shipping_attempts=task.shipping_attempts + 1, shipping_next_at=None, shipping_error="")
        log.info("shipping info uploaded for order %s", task.order_id)
        return S.UPLOADED
    attempts = task.shipping_attempts + 1
    if outcome == "retry" and attempts < MAX_ATTEMPTS:
        await pending.update(shipping_attempts=attempts, shipping_next_at=now + backoff(attempts),
                             shipping_errcode=errcode, shipping_error=message[:200])
        log.warning("shipping upload for task %s failed (try %s, errcode %s): %s", task_id, attempts, errcode, message)
        return S.PENDING
    why = FINAL_MESSAGES.get(errcode or 0) or (f"{attempts} 次上传均失败：{message}" if outcome == "retry" else message)
    await pending.update(shipping_state=S.NEEDS_PERSON, shipping_attempts=attempts, shipping_next_at=None,
                         shipping_errcode=errcode, shipping_error=why[:200])
    log.error("shipping upload for task %s needs a person (errcode %s): %s", task_id, errcode, message)
    return S.NEEDS_PERSON


async def due_uploads(now: datetime | None = None) -> list[tuple[int, int]]:
    """(task id, attempts so far) of the uploads that are due, in two lanes so old failures never
    starve new work: first attempts (newest shipment first) and retries whose backoff has passed
    (earliest due first), each with its own batch."""
    now = now or clock.now()
    pending = FulfillmentTask.filter(status=TaskStatus.SHIPPED, shipping_state=S.PENDING, shipping_uploaded_at=None)
    fresh = await (pending.filter(shipping_attempts=0, shipped_at__lte=now - FIRST_DELAY)
                   .order_by("-shipped_at", "-id").limit(FRESH_BATCH).values_list("id", "shipping_attempts"))
    retries = await (pending.filter(shipping_attempts__gt=0, shipping_next_at__lte=now)
                     .order_by("shipping_next_at", "id").limit(RETRY_BATCH).values_list("id", "shipping_attempts"))
    return [(int(i), int(a)) for i, a in [*fresh, *retries]]


async def list_uploads(state: str, cursor: str | None, limit: int) -> Page[ShippingUploadOut]:
    """Uploads in a state (needs_person: the ones WeChat refused for good), newest first, for the office."""
    # the order number joined in: one statement for the page, not a lookup of the orders after it
    q = FulfillmentTask.filter(shipping_state=state).annotate(listed_order_no=F("order__order_no"))
    tasks, next_cursor = await id_page(q, cursor, limit, newest_first=True)
    return Page[ShippingUploadOut](items=[_upload_out(t, t.listed_order_no) for t in tasks],
                                   next_cursor=next_cursor)


async def get_upload(task_id: int) -> ShippingUploadOut:
    """One task's upload, as the office's list shows it."""
    task = await FulfillmentTask.filter(id=task_id).annotate(listed_order_no=F("order__order_no")).first()
    if task is None:
        raise NotFound("task not found")
    return _upload_out(task, task.listed_order_no)


def _upload_out(t: FulfillmentTask, order_no: str) -> ShippingUploadOut:
    return ShippingUploadOut(task_id=t.id, order_id=t.order_id, order_no=order_no, state=t.shipping_state,
                             attempts=t.shipping_attempts, errcode=t.shipping_errcode, error=t.shipping_error,
                             shipped_at=t.shipped_at, next_attempt_at=t.shipping_next_at)


async def resolve(task_id: int, action: str, note: str, actor_id: int | None) -> ShippingResolveOut:
    """The office settles an upload WeChat refused: "done" (settled by hand in the WeChat admin) or
    "retry" (once more, e.g. after fixing the merchant number or the buyer's order)."""
    async with atomic() as conn:
        task = await FulfillmentTask.get_or_none(id=task_id).using_db(conn)
        if task is None:
            raise NotFound("task not found")
        if task.shipping_state != S.NEEDS_PERSON:
            raise Conflict("this upload does not wait for a person",
                           code=FulfillmentCode.SHIPPING_NOT_WAITING,
                           details={"state": task.shipping_state})
        if action == "done":
            changes = dict(shipping_state=S.RESOLVED, shipping_next_at=None)
        else:
            # Into the retry lane, due now, with the full retry schedule ahead of it.
            changes = dict(shipping_state=S.PENDING, shipping_attempts=1, shipping_next_at=clock.now())
        n = await FulfillmentTask.filter(id=task_id, shipping_state=S.NEEDS_PERSON).using_db(conn).update(**changes)
        if not n:
            raise Conflict("this upload does not wait for a person",
                           code=FulfillmentCode.SHIPPING_NOT_WAITING)
        await audit.record(actor_id, f"shipping.{action}", "fulfillment_task", task_id,
                           {"errcode": task.shipping_errcode, "error": task.shipping_error, "note": note}, conn=conn)
    return ShippingResolveOut(task_id=task_id, state=changes["shipping_state"])


async def count_late_uploads(older_than: timedelta = timedelta(hours=1)) -> int:
    """Shipped tasks whose shipping info is still not with WeChat this long after shipping (waiting
    for a retry or for a person)."""
    return await FulfillmentTask.filter(status=TaskStatus.SHIPPED, shipping_state__in=[S.PENDING, S.NEEDS_PERSON],
                                        shipped_at__lte=clock.now() - older_than).count()
