"""The public scan page `GET /t/{code}` (扫码溯源页): server-rendered Chinese HTML, no script, no
external resources, a few KB — readable on a cheap phone on a weak network. Every value is escaped."""
from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from string import Template

from server.kit import clock
from server.trace.schemas import TraceView

_DIR = Path(__file__).parent / "templates"
_PAGE = Template((_DIR / "trace.html").read_text(encoding="utf-8"))
_NOT_FOUND = Template((_DIR / "not_found.html").read_text(encoding="utf-8"))

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
                                      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}


def e(v) -> str:
    return html.escape("" if v is None else str(v))


def _day(v) -> str:
    if not v:
        return "—"
    d = date.fromisoformat(v) if isinstance(v, str) else v
    return f"{d.year}年{d.month}月{d.day}日"


def _time(v) -> str:
    t = datetime.fromisoformat(v) if isinstance(v, str) else v
    t = t.astimezone(clock.SHANGHAI)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def render(v: TraceView) -> str:
    """The page for a found code."""
    parts: list[str] = []
    if v.status == "recalled":
        parts.append('<section class="alert" id="recall"><h2>⚠ 本批次已召回</h2>'
                     f'<p>原因：{e(v.recall_reason)}</p><p>请立即停止食用/使用，并联系购买渠道办理退换。</p></section>')
    elif v.suspicious:
        parts.append('<section class="warn" id="suspect"><h2>请注意</h2><p>此码查询次数或查询地点异常，'
                     '可能被复制，谨防假冒。如有疑问请联系喀左县电子商务服务中心。</p></section>')
    first = f"，首次查询于 {_time(v.first_scan_at)}" if v.first_scan_at and v.scan_count > 1 else ""
    kind = f"单品码 No.{v.serial:06d}" if v.kind == "item" else "批次码"
    parts.append(f'<section id="scan"><p class="{"bad" if v.suspicious else "ok"}">'
                 f'{e(kind)}：本码第 {v.scan_count} 次被查询{e(first)}</p></section>')
    o, b, p = v.origin, v.batch, v.producer
    origin = "".join(x for x in (o.get("town"), o.get("village")) if x) or "—"
    parts.append(
        '<section id="product"><h2>产品与批次</h2><dl>'
        f'<dt>产品</dt><dd>{e(v.product["name"])}</dd>'
        + (f'<dt>品牌</dt><dd>{e(v.product["brand"])}</dd>' if v.product.get("brand") else "")
        + (f'<dt>规格</dt><dd>{e("、".join(v.skus))}</dd>' if v.skus else "")
        + f'<dt>批次号</dt><dd>{e(b["code"])}</dd>'
        f'<dt>生产/采收</dt><dd>{_day(b.get("produced_on"))}</dd>'
        + (f'<dt>批次数量</dt><dd>{e(b["quantity"])}</dd>' if b.get("quantity") else "")
        + '</dl></section>')
    parts.append(
        '<section id="origin"><h2>产地与生产者</h2><dl>'
        f'<dt>产地</dt><dd>喀左县 {e(origin)}</dd>'
        + (f'<dt>地块/基地</dt><dd>{e(o["plot"])}</dd>' if o.get("plot") else "")
        + f'<dt>生产者</dt><dd>{e(p["name"])}（{e(p["kind"])}）</dd>'
        + (f'<dt>经营主体</dt><dd>{e(p["merchant"])}</dd>' if p.get("merchant") != p.get("name") else "")
        + (f'<dt>责任人</dt><dd>{e(v.responsible)}</dd>' if v.responsible else "")
        + '</dl></section>')
    if v.steps:
        items = []
        for s in v.steps:
            photos = "".join(f'<img src="{e(u)}" alt="过程照片" loading="lazy">' for u in s.photos)
            items.append(f'<li><span class="t">{_time(s.at)}{" · " + e(s.actor) if s.actor else ""}'
                         f'{"（更正补录）" if s.corrected else ""}</span><br>{e(s.description)}'
                         + (f'<div class="ph">{photos}</div>' if photos else "") + '</li>')
        parts.append('<section id="steps"><h2>生产过程</h2><ol>' + "".join(items) + '</ol></section>')
    if v.inspections:
        items = []
        for i in v.inspections:
            res = '<span class="ok">合格</span>' if i.result == "pass" else '<span class="bad">不合格</span>'
            link = f' <a href="{e(i.file_url)}">查看报告</a>' if i.file_url else ""
            items.append(f'<li>{res} {e(i.lab)} · {_day(i.tested_on)}{"（更正补录）" if i.corrected else ""}'
                         + (f'<br><span class="t">{e(i.summary)}</span>' if i.summary else "") + link + '</li>')
        parts.append('<section id="inspections"><h2>检测报告</h2><ul>' + "".join(items) + '</ul></section>')
    if v.certifications:
        tags = "".join(f'<li><span class="tag">{e(c.label)}</span>证书号 {e(c.number)}'
                       + (f' · {e(c.issuer)}' if c.issuer else "")
                       + (f' · 有效期至 {_day(c.expires_on)}' if c.expires_on else "") + '</li>'
                       for c in v.certifications)
        parts.append('<section id="certs"><h2>认证（三品一标）</h2><ul>' + tags + '</ul></section>')
    if v.sold_through:
        rows = "".join(f'<li>{e(s.name)}<span class="t"> · {s.orders} 单</span></li>' for s in v.sold_through)
        parts.append('<section id="sold"><h2>销售去向</h2><p class="t">经喀左县仓配送至以下服务站</p><ul>'
                     + rows + '</ul></section>')
    if v.corrections:
        rows = "".join(f'<li>{e(c.field)}：{e(c.reason)}<span class="t"> · {_time(c.at)}</span></li>'
                       for c in v.corrections)
        parts.append('<section id="corrections"><h2>更正记录</h2><ul>' + rows + '</ul></section>')
    # complaints and reports (#26): anyone can report this product from here
    parts.append(f'<section id="report"><p>发现假冒、质量问题或产地不符？<a href="/report/{e(v.code)}">投诉举报</a></p></section>')
    header = f"喀左县 {origin} · 批次 {b['code']}"
    return _PAGE.substitute(title=e(f"{v.product['name']} · 溯源信息"), product_name=e(v.product["name"]),
                            header_line=e(header), body="\n".join(parts), code=e(v.code))


def not_found(raw: str) -> str:
    """The page for an unknown or malformed code (the code shown is cut and escaped)."""
    return _NOT_FOUND.substitute(code=e(raw[:40]))
