"""WeChat order shipping information (小程序发货信息管理): WeChat holds settlement of a paid order
until its shipping is uploaded, so every task that leaves the warehouse is uploaded once:
third-party courier (logistics_type 1, company + tracking number), local delivery (2, 同城配送) or
pickup at a station (4, 用户自提). A raw call through wechatpy's client, in a thread."""
from __future__ import annotations

import logging
from datetime import timedelta

from server.kit import clock, runtime
from server.kit.errors import UpstreamError
from server.models.accounts import User
from server.models.fulfillment import FulfillmentTask, Parcel, TaskStatus
from server.models.orders import Order, OrderLine

log = logging.getLogger("kazuo.shipping")
PATH = "wxa/sec/order/upload_shipping_info"
ALREADY_SHIPPED = 10060002  # 支付单已完成发货，无法继续发货
LOGISTICS = {"courier": 1, "delivery": 2, "pickup": 4}


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else ""


async def payload(task_id: int) -> dict | None:
    """The upload_shipping_info body for a shipped task (None when it is not shipped)."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None or task.status != TaskStatus.SHIPPED:
        return None
    order = await Order.get(id=task.order_id)
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
                      "out_trade_no": order.order_no},
        "logistics_type": LOGISTICS[kind],
        "delivery_mode": 2 if len(shipping_list) > 1 else 1,
        "shipping_list": shipping_list,
        "upload_time": clock.now().astimezone(clock.SHANGHAI).isoformat(timespec="milliseconds"),
        "payer": {"openid": buyer.openid or ""},
    }
    if body["delivery_mode"] == 2:
        body["is_all_delivered"] = True
    return body


async def upload(task_id: int) -> bool:
    """Upload one shipped task's shipping information (once); errors raise for the job to retry."""
    task = await FulfillmentTask.get_or_none(id=task_id)
    if task is None or task.shipping_uploaded_at is not None:
        return False
    body = await payload(task_id)
    if body is None:
        return False
    wechat = runtime.get().extras["wechat"]
    try:
        await wechat.call(wechat.client.post, wechat.api_base + PATH, data=body)
    except UpstreamError as exc:
        # Already uploaded (an earlier attempt succeeded but its answer was lost): done.
        if (exc.details or {}).get("errcode") != ALREADY_SHIPPED:
            raise
    await FulfillmentTask.filter(id=task_id, shipping_uploaded_at=None).update(shipping_uploaded_at=clock.now())
    log.info("shipping info uploaded for order %s", task.order_id)
    return True


async def pending_uploads(older_than: timedelta = timedelta(minutes=2), limit: int = 200) -> list[int]:
    """Shipped tasks whose upload has not succeeded yet."""
    before = clock.now() - older_than
    return list(await FulfillmentTask.filter(status=TaskStatus.SHIPPED, shipping_uploaded_at=None,
                                             shipped_at__lte=before).order_by("id").limit(limit)
                .values_list("id", flat=True))


async def count_late_uploads(older_than: timedelta = timedelta(hours=1)) -> int:
    """Shipped tasks whose shipping info is still not uploaded to WeChat this long after shipping."""
    return await FulfillmentTask.filter(status=TaskStatus.SHIPPED, shipping_uploaded_at=None,
                                        shipped_at__lte=clock.now() - older_than).count()
