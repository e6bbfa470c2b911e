"""The public report page `/report/{code}` (扫码举报): a plain form (no script) reached from the trace
page; anyone can report a counterfeit, a quality problem or a wrong origin with photos. Every value
shown is escaped; what a reporter typed is kept in the form when something is refused."""
from __future__ import annotations

import html
from pathlib import Path
from string import Template

_PAGE = Template((Path(__file__).parent / "templates" / "report.html").read_text(encoding="utf-8"))
KIND_CHOICES = [("counterfeit", "疑似假冒 / 产地不符"), ("quality", "质量或食品安全问题"), ("other", "其他")]
FIELD_WORDS = {"kind": "请选择举报类型。", "text": "请描述问题（5–1000 个字）。", "phone": "请填写 11 位手机号，或留空。",
               "photos": "照片最多 {max} 张。", "file": "照片须为 JPEG、PNG 或 WebP，每张不超过 {mb} MB。"}
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                      "form-action 'self'; frame-ancestors 'none'"}


def e(v) -> str:
    return html.escape("" if v is None else str(v))


def form(code: str, product: str, *, values: dict | None = None, errors: dict | None = None,
         notice: str = "", max_photos: int = 3) -> str:
    """The report form (values and errors beside their fields when a submission was refused)."""
    values, errors = values or {}, errors or {}

    def err(name: str) -> str:
        return f'<p class="err" data-field="{e(name)}">{e(errors[name])}</p>' if name in errors else ""

    options = "".join(f'<option value="{k}"{" selected" if values.get("kind") == k else ""}>{e(t)}</option>'
                      for k, t in KIND_CHOICES)
    body = (
        (f'<section class="alert" id="notice">{e(notice)}</section>' if notice else "")
        + '<section><p>您举报的商品：<b>' + e(product) + '</b>（溯源码 ' + e(code) + '）</p>'
        '<p class="t">县电商办 24 小时内受理、7 日内办结。您的身份不会告知被举报方。</p>'
        f'<form method="post" action="/report/{e(code)}" enctype="multipart/form-data">'
        f'<label for="kind">举报类型</label><select id="kind" name="kind">{options}</select>{err("kind")}'
        '<label for="text">问题描述</label><textarea id="text" name="text" maxlength="1000">'
        + e(values.get("text", "")) + '</textarea>' + err("text")
        + f'<label for="photos">照片（可选，最多 {max_photos} 张）</label>'
        '<input id="photos" type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple>'
        + err("photos") + err("file")
        + '<label for="phone">手机号（可选，用于短信告知处理结果）</label>'
        f'<input id="phone" name="phone" inputmode="numeric" maxlength="11" value="{e(values.get("phone", ""))}">'
        + err("phone") + '<button type="submit">提交举报</button></form></section>')
    return _PAGE.substitute(header_line=e("喀左县电子商务公共服务中心 · 监督举报"), body=body)


def done(no: str) -> str:
    """The page after a report was filed: the number to quote."""
    body = (f'<section id="filed"><p class="ok">举报已提交</p><p>受理编号：<b>{e(no)}</b></p>'
            '<p class="t">请保存此编号。县电商办将在 24 小时内受理，7 日内办结；留了手机号的，处理结果将以短信告知。</p></section>')
    return _PAGE.substitute(header_line=e("喀左县电子商务公共服务中心 · 监督举报"), body=body)


def refused(message: str, status_line: str = "") -> str:
    """A refusal that is not about one field (too many reports, unknown code)."""
    body = f'<section class="alert" id="refused"><p>{e(message)}</p>{e(status_line)}</section>'
    return _PAGE.substitute(header_line=e("喀左县电子商务公共服务中心 · 监督举报"), body=body)
