"""Share posters (分享海报): a PNG with a picture, a title, a price, the county brand line and a
mini-program code. Generic on purpose — a product poster and a campaign poster are the same drawing
with different inputs (PosterSpec) — and pure: no database, no network, so the CPU-bound drawing runs
in the CPU pool (server/kit/pools.py) and a test can read its pixels.

Chinese text is drawn with a bundled font: Noto Sans CJK SC, subset to ASCII, GB 2312's 6,763
characters and full-width punctuation (fonts/NotoSansSC-GB2312.otf, SIL Open Font License 1.1,
fonts/OFL.txt). A character outside the subset is drawn as the font's empty box."""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSansSC-GB2312.otf"
WIDTH, HEIGHT = 750, 1180
PICTURE = 750           # the picture is a 750x750 square at the top
CODE = 220              # the mini-program code's side
MARGIN = 36
RED = (214, 40, 40)
INK = (34, 34, 34)
GREY = (120, 120, 120)
PAPER = (255, 255, 255)
BAND = (164, 45, 36)    # the brand band behind a missing picture (喀左红)


@dataclass(frozen=True)
class PosterSpec:
    title: str                 # the product's (or campaign's) name
    price: str                 # as shown, e.g. "¥12.50" or "¥9.90 起"
    brand_line: str            # the county brand, e.g. 喀左特色馆 · 喀左县区域公共品牌
    code_png: bytes            # the mini-program code (wxacode.getUnlimited)
    picture: bytes | None = None  # the product photo (JPEG/PNG/WebP), None: a brand band instead
    subtitle: str = ""
    hint: str = "长按识别小程序码 查看详情"


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """Break Chinese text by characters into at most `lines` lines, the last cut with …."""
    out, cur = [], ""
    for ch in text:
        if draw.textlength(cur + ch, font=f) <= width:
            cur += ch
            continue
        out.append(cur)
        cur = "" if ch.isspace() else ch  # a new line never starts with a space
        if len(out) == lines:
            break
    else:
        if cur:
            out.append(cur)
        return out[:lines]
    last = out[lines - 1]
    while last and draw.textlength(last + "…", font=f) > width:
        last = last[:-1]
    return out[:lines - 1] + [last + "…"]


def _picture(data: bytes | None, brand: str) -> Image.Image:
    if data:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                return ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), (PICTURE, PICTURE))
        except Exception:  # noqa: BLE001 - a broken photo must not stop the poster: the band instead
            pass
    band = Image.new("RGB", (PICTURE, PICTURE), BAND)
    d = ImageDraw.Draw(band)
    f = font(64)
    name = brand.split("·")[0].strip() or brand
    d.text((PICTURE // 2, PICTURE // 2), name, font=f, fill=PAPER, anchor="mm")
    return band


def render(spec: PosterSpec) -> bytes:
    """The poster as PNG bytes (CPU-bound: call it through pools.cpu)."""
    img = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    img.paste(_picture(spec.picture, spec.brand_line), (0, 0))
    d = ImageDraw.Draw(img)
    text_w = WIDTH - 2 * MARGIN - CODE - 24
    y = PICTURE + 28
    title_font = font(38)
    for line in _wrap(d, spec.title, title_font, text_w, 2):
        d.text((MARGIN, y), line, font=title_font, fill=INK)
        y += 52
    if spec.subtitle:
        for line in _wrap(d, spec.subtitle, font(26), text_w, 1):
            d.text((MARGIN, y), line, font=font(26), fill=GREY)
            y += 38
    d.text((MARGIN, y + 8), spec.price, font=font(56), fill=RED)
    d.text((MARGIN, HEIGHT - 96), spec.brand_line, font=font(24), fill=GREY)
    d.text((MARGIN, HEIGHT - 60), spec.hint, font=font(22), fill=GREY)
    with Image.open(io.BytesIO(spec.code_png)) as code:
        code = code.convert("RGB").resize((CODE, CODE))
    img.paste(code, (WIDTH - MARGIN - CODE, PICTURE + 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
