"""Trace codes (溯源码): random, unguessable, short enough to type into an SMS; their QR images
(PNG and SVG) and printable label sheets. Rendering runs in a thread (Pillow is CPU work)."""
from __future__ import annotations

import html
import io
import re
import secrets

from server.kit import pools, runtime

# Crockford base32 (no I, L, O, U): 12 characters = 60 random bits. Read back tolerantly.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{12}$")
_FIX = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(raw: str) -> str | None:
    """The canonical code for what a person typed or a scanner read (case, dashes, spaces, I/L/O), or
    None when it cannot be a code (so no database lookup is spent on it)."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    s = re.sub(r"[\s\-]", "", raw).upper().translate(_FIX)
    return s if _CODE.match(s) else None


def url(code: str) -> str:
    """The short URL printed under the QR code."""
    return runtime.settings().base_url + "/t/" + code


def _qr(code: str):
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=8)
    qr.add_data(url(code))
    qr.make(fit=True)
    return qr


def _png(code: str) -> bytes:
    buf = io.BytesIO()
    _qr(code).make_image().save(buf, format="PNG")
    return buf.getvalue()


def _svg(code: str) -> bytes:
    from qrcode.image.svg import SvgPathImage

    buf = io.BytesIO()
    _qr(code).make_image(image_factory=SvgPathImage).save(buf)
    return buf.getvalue()


async def png(code: str) -> bytes:
    return await pools.cpu(_png, code)


async def svg(code: str) -> bytes:
    return await pools.cpu(_svg, code)


def _inline_svg(code: str) -> str:
    raw = _svg(code).decode()
    return raw[raw.index("<svg"):]  # drop the XML declaration: it is inlined into HTML


def _sheet(title: str, labels: list[tuple[str, str, str]]) -> str:
    """A4 sheet, 4 × 10 labels of 48 × 27 mm (common self-adhesive stock); (code, line1, line2)."""
    cells = []
    for code, line1, line2 in labels:
        cells.append(
            '<div class="l"><div class="q">' + _inline_svg(code) + '</div><div class="t">'
            f'<b>{html.escape(line1)}</b><span>{html.escape(line2)}</span>'
            f'<span class="c">{html.escape(code)}</span><span class="u">{html.escape(url(code))}</span>'
            '</div></div>')
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>"
            "@page{size:A4;margin:10mm 9mm}body{margin:0;font-family:sans-serif}"
            ".s{display:grid;grid-template-columns:repeat(4,48mm);grid-auto-rows:27mm;gap:0 0}"
            ".l{display:flex;align-items:center;overflow:hidden;border:0.2mm dashed #bbb;box-sizing:border-box;"
            "padding:1mm;break-inside:avoid}.q svg{width:24mm;height:24mm;display:block}"
            ".t{display:flex;flex-direction:column;font-size:2.4mm;line-height:1.25;padding-left:1mm;min-width:0}"
            ".t b{font-size:2.8mm}.c{font-family:monospace;font-size:2.6mm}.u{font-size:1.9mm;word-break:break-all}"
            "@media screen{body{padding:8px}}@media print{.l{border-color:transparent}}"
            "</style></head><body><div class=\"s\">" + "".join(cells) + "</div></body></html>")


async def label_sheet(title: str, labels: list[tuple[str, str, str]]) -> str:
    """Printable HTML label sheet (QR inline as SVG: no external files, prints at any resolution)."""
    return await pools.cpu(_sheet, title, labels)
