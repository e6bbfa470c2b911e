"""The office's own pages in the console (#30, 内容管理): banners, announcements and articles written
with a small rich-text editor (static/editor.js: a contenteditable with a toolbar, no Node build);
whatever the browser sends is sanitised by server.content before it is stored, and the preview shows
only the stored, sanitised HTML. Times are typed in Beijing time."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import redirect

from server.console_web.web import Ctx, field_errors, filters, next_url, page
from server.content import service as content
from server.content.sanitize import clean_html
from server.content.schemas import CATEGORY_LABELS, KIND_LABELS, ContentIn, ContentListQuery
from server.kit import clock, runtime
from server.kit.errors import ValidationFailed
from server.kit.http import validate
from server.kit.schemas import QuerySchema
from server.media import read_upload

bp = Blueprint("console_web_content", url_prefix="/console/content")
PAGE_SIZE = 20
HINTS = {
    "title": "请输入标题（1–64 个字）。",
    "category": "文章请选择栏目（政策宣传、品牌故事、培训动态）。",
    "image": "轮播图请填写图片地址（/media/ 开头或 http(s) 地址）。",
    "link": "跳转路径应为小程序页面路径，如 /pages/product/index?id=1。",
    "body_html": "文章请填写正文。",
    "publish_at": "请填写时间，如 2026-12-01 08:00（北京时间）。",
    "unpublish_at": "下线时间须晚于上线时间。",
    "sort": "排序应为整数。",
}


IMAGE_MESSAGES = {
    "file_too_large": "图片太大（超过 {mb} MB），请压缩后再上传。",
    "unsupported_file_type": "只能上传图片（JPEG、PNG 或 WebP）。",
}


class ContentFilter(QuerySchema):
    kind: Literal["banner", "announcement", "article"] | None = None
    cursor: str | None = Field(None, max_length=200)


def _local_time(text: str, name: str) -> datetime | None:
    """A time typed in Beijing time (datetime-local: 2026-12-01T08:00, or with a space)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ValidationFailed.field(name, HINTS[name]) from None
    return value.replace(tzinfo=clock.SHANGHAI) if value.tzinfo is None else value


def _body(form: dict) -> ContentIn:
    data = {k: form.get(k, "") for k in ("kind", "title", "summary", "body_html", "image", "link")}
    data["category"] = form.get("category") or None
    data["sort"] = form.get("sort") or "0"
    data["enabled"] = form.get("enabled") == "on"
    data["publish_at"] = _local_time(form.get("publish_at", ""), "publish_at")
    data["unpublish_at"] = _local_time(form.get("unpublish_at", ""), "unpublish_at")
    return validate(ContentIn, data, "form")


def _local_input(v: datetime | None) -> str:
    return v.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M") if v else ""


def _form_of(item) -> dict:
    return {"kind": item.kind, "category": item.category, "title": item.title, "summary": item.summary,
            "body_html": item.body_html, "image": item.image, "link": item.link, "sort": str(item.sort),
            "enabled": "on" if item.enabled else "", "publish_at": _local_input(item.publish_at),
            "unpublish_at": _local_input(item.unpublish_at)}


def _shown_back(form: dict) -> dict:
    """A refused form as it is shown again: its body sanitised as it would be stored, so the editor
    (which parses the textarea into the page) never receives a pasted script or handler (#30)."""
    return {**form, "body_html": clean_html(form.get("body_html", ""))}


def _render_form(ctx: Ctx, item=None, form: dict | None = None, errors: dict | None = None, notice: str = "",
                 status: int = 200):
    return ctx.render("content_form.html", item=item, form=form or {"kind": "article"}, errors=errors or {},
                      notice=notice, kinds=KIND_LABELS, categories=CATEGORY_LABELS, status=status,
                      max_bytes=runtime.settings().media_image_max_bytes)


@bp.get("")
@page()
async def content_list(request: Request, ctx: Ctx):
    f, errors = filters(ctx, ContentFilter)
    result = await content.office_list(ContentListQuery(kind=f.kind, cursor=f.cursor, limit=PAGE_SIZE))
    return ctx.render("content_list.html", f=f, errors=errors, rows=result.items, kinds=KIND_LABELS,
                      categories=CATEGORY_LABELS, next_href=next_url(result.next_cursor, request))


@bp.get("/new")
@page()
async def content_new(request: Request, ctx: Ctx):
    return _render_form(ctx)


@bp.post("/new")
@page()
async def content_create(request: Request, ctx: Ctx):
    form = ctx.form()
    try:
        item = await content.create(ctx.user_id, _body(form))
    except ValidationFailed as exc:
        return _render_form(ctx, form=_shown_back(form), errors=field_errors(exc, HINTS), status=422)
    return redirect(f"/console/content/{item.id}?saved=1", status=303)


@bp.get("/<item_id:int>")
@page()
async def content_edit(request: Request, ctx: Ctx, item_id: int):
    item = await content.get(item_id)
    notice = "已保存。" if request.args.get("saved") else ""
    return _render_form(ctx, item=item, form=_form_of(item), notice=notice)


@bp.post("/<item_id:int>")
@page()
async def content_update(request: Request, ctx: Ctx, item_id: int):
    item = await content.get(item_id)
    form = ctx.form()
    try:
        item = await content.update(ctx.user_id, item_id, _body(form))
    except ValidationFailed as exc:
        return _render_form(ctx, item=item, form=_shown_back(form), errors=field_errors(exc, HINTS), status=422)
    return redirect(f"/console/content/{item.id}?saved=1", status=303)


@bp.post("/image")
@page()
async def image_upload(request: Request, ctx: Ctx):
    """A banner picture (server/media: images only, checked by content): the fragment fills the
    form's image field with its URL (an out-of-band swap) and shows the picture."""
    max_bytes = runtime.settings().media_image_max_bytes
    try:
        data, filename = read_upload(request, "file")
        stored = await content.upload_image(ctx.user_id, data, filename)
    except ValidationFailed as exc:
        message = IMAGE_MESSAGES.get(exc.code, "").format(mb=max_bytes // 1048576) or \
            "请选择一张图片（JPEG、PNG 或 WebP）。"
        # a fragment answers 200 so htmx swaps the message in; without htmx the status tells
        return ctx.render("_content_image.html", error=message, status=200 if ctx.htmx else exc.status)
    return ctx.render("_content_image.html", image=stored, status=200 if ctx.htmx else 201)
