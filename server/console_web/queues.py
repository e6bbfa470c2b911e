"""The office's smaller queues, each the list behind a tile of the desk: refunds waiting for a decision
(approve/reject), pickup-station alerts (acknowledge), delivery promises broken (SLA breaches), WeChat
shipping uploads that need a person (settled by hand, or tried once more)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request

from server.console_web.web import Ctx, field_errors, filters, next_url, page, parse
from server.fulfillment import shipping, sla, unpick
from server.fulfillment.schemas import BreachQuery, ShippingResolveIn
from server.kit.errors import ValidationFailed
from server.kit.schemas import QuerySchema
from server.orders import refunds
from server.stations import service as stations
from server.stations.schemas import AlertQuery

bp = Blueprint("console_web_queues", url_prefix="/console")
REFUND_STATES = {"requested": "待审批", "approved": "已同意", "processing": "退款中", "succeeded": "已退款",
                 "rejected": "已拒绝", "failed": "退款失败",
                 "unpicking": "待回架"}  # approved; the warehouse puts picked/packed units back first (#25)


class RefundFilter(QuerySchema):
    status: Literal["requested", "approved", "processing", "succeeded", "rejected", "failed",
                    "unpicking"] = "requested"
    cursor: str | None = Field(None, max_length=200)


UPLOAD_STATES = {"needs_person": "需人工处理", "pending": "待重试", "resolved": "已人工处理",
                 "uploaded": "已上传", "not_required": "无需上传"}
OFFICE = ("admin", "warehouse")   # as the JSON operations under /api/v1/console/warehouse/shipping-uploads
UPLOAD_HINTS = {"note": "备注最多 200 个字。", "action": "请选择“已在微信后台处理”或“再试一次”。"}
RESOLVED_MESSAGES = {"done": "已标记为人工处理完毕", "retry": "已安排再试一次"}


class UploadFilter(QuerySchema):
    state: Literal["needs_person", "pending", "resolved", "uploaded", "not_required"] = "needs_person"
    cursor: str | None = Field(None, max_length=200)


class OpenFilter(QuerySchema):
    all: bool = False
    cursor: str | None = Field(None, max_length=200)


@bp.get("/refunds")
@page()
async def refund_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, RefundFilter)
    result = await refunds.list_refunds(f.status, f.cursor, 20)
    waiting = await unpick.waiting_units([r.id for r in result.items]) if f.status == "unpicking" else {}
    return ctx.render("refunds.html", f=f, errors=errors, rows=result.items, states=REFUND_STATES, waiting=waiting,
                      next_href=next_url(result.next_cursor, request))


@bp.post("/refunds/<refund_id:int>/<action:approve|reject>")
@page()
async def refund_decide(request: Request, ctx: Ctx, refund_id: int, action: str):
    r = await refunds.decide(refund_id, approve=action == "approve", actor_id=ctx.user_id, merchant_ids=None,
                             note=(ctx.form().get("note") or "")[:200])
    waiting = await unpick.waiting_units([r.id]) if r.status == "unpicking" else {}
    return ctx.render("_refund_row.html", r=r, states=REFUND_STATES, waiting=waiting)


@bp.get("/station-alerts")
@page()
async def alert_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, OpenFilter)
    result = await stations.list_alerts(AlertQuery(open=not f.all, cursor=f.cursor, limit=20))
    return ctx.render("station_alerts.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


@bp.post("/station-alerts/<alert_id:int>/acknowledge")
@page()
async def alert_ack(request: Request, ctx: Ctx, alert_id: int):
    a = await stations.acknowledge_alert(alert_id, actor_id=ctx.user_id)
    return ctx.render("_alert_row.html", a=a)


@bp.get("/sla-breaches")
@page()
async def breach_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, OpenFilter)
    result = await sla.breaches(BreachQuery(open_only=not f.all, cursor=f.cursor, limit=20))
    return ctx.render("sla_breaches.html", f=f, errors=errors, rows=result.items,
                      next_href=next_url(result.next_cursor, request))


@bp.get("/shipping-uploads")
@page(roles=OFFICE)
async def upload_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, UploadFilter)
    result = await shipping.list_uploads(f.state, f.cursor, 20)
    return ctx.render("shipping_uploads.html", f=f, errors=errors, rows=result.items, states=UPLOAD_STATES,
                      next_href=next_url(result.next_cursor, request))


@bp.post("/shipping-uploads/<task_id:int>/resolve")
@page(roles=OFFICE)
async def upload_resolve(request: Request, ctx: Ctx, task_id: int):
    """Settle an upload that needs a person (the service checks it still does, and audits)."""
    form = ctx.form()
    try:
        body = parse(ShippingResolveIn, form)
    except ValidationFailed as exc:
        return ctx.render("_upload_row.html", u=await shipping.get_upload(task_id), states=UPLOAD_STATES,
                          errors=field_errors(exc, UPLOAD_HINTS), form=form)
    await shipping.resolve(task_id, body.action, body.note, actor_id=ctx.user_id)
    return ctx.render("_upload_row.html", u=await shipping.get_upload(task_id), states=UPLOAD_STATES,
                      done=RESOLVED_MESSAGES[body.action], errors={}, form={})
