"""store_upload(): detect what a file is from its bytes (never its name or the client's content
type), enforce the size limit, re-encode images (nothing but their pixels is kept), record their
dimensions, store it under a content-addressed key."""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import asdict, dataclass

from server.kit import clock, pools
from server.kit.errors import ValidationFailed
from server.media.storage import get_storage
from server.media.errors import MediaCode

IMAGE_KINDS = frozenset({"jpeg", "png", "webp"})
DOCUMENT_KINDS = frozenset({"pdf", "zip-office", "mp4", "jpeg", "png"})
# Decoding a bigger image would cost too much memory (decompression bombs are tiny files).
MAX_PIXELS = 40_000_000

_CONTENT_TYPES = {
    "jpeg": ("image/jpeg", "jpg"), "png": ("image/png", "png"), "webp": ("image/webp", "webp"),
    "pdf": ("application/pdf", "pdf"), "mp4": ("video/mp4", "mp4"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
_UPLOAD_KIND = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")


@dataclass(frozen=True)
class StoredFile:
    url: str
    key: str
    size: int
    content_type: str
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _office_subtype(data: bytes) -> str | None:
    """docx/pptx/xlsx are zip packages with [Content_Types].xml and a word/, ppt/ or xl/ part."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, sub in (("word/", "docx"), ("ppt/", "pptx"), ("xl/", "xlsx")):
        if any(n.startswith(prefix) for n in names):
            return sub
    return None


def detect_kind(data: bytes) -> tuple[str, str] | None:
    """(content kind, subtype) from magic bytes, e.g. ("zip-office", "pptx"); None if unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg", "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "webp"
    if data.startswith(b"%PDF-"):
        return "pdf", "pdf"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mp4", "mp4"
    if data.startswith(b"PK\x03\x04"):
        sub = _office_subtype(data)
        if sub:
            return "zip-office", sub
    return None


def _reencode_image(data: bytes, fmt: str) -> tuple[bytes, int, int]:
    """The image decoded and written again in its own format: what is stored is only the pixels
    (and the colour profile), never what followed the image data (HTML appended to a PNG), nor its
    EXIF and GPS. The photo's EXIF orientation is applied to the pixels first, so it still stands
    upright. Returns (bytes, width, height); 422 naming `file` for a damaged or oversized image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    expected = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != expected:
                raise ValidationFailed.field("file", "the image content does not match its type")
            width, height = img.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise ValidationFailed.field("file", f"image dimensions {width}x{height} are not allowed")
            img.load()  # a full decode: a truncated or corrupt image fails here
            icc = img.info.get("icc_profile")
            clean = ImageOps.exif_transpose(img)
            if fmt == "jpeg" and clean.mode not in ("L", "RGB", "CMYK"):
                clean = clean.convert("RGB")
            options: dict = {"icc_profile": icc} if icc else {}
            if fmt == "jpeg":
                options.update(quality=90, optimize=True)
            elif fmt == "webp":
                options.update(quality=90)
            out = io.BytesIO()
            clean.save(out, format=expected, **options)
            width, height = clean.size
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed.field("file", "the image is damaged or not a real image") from None
    return out.getvalue(), width, height


async def store_upload(data: bytes, *, kind: str, filename: str, allowed: set[str] | frozenset[str],
                       max_bytes: int) -> StoredFile:
    """Check an upload by content and size, store it and return where it lives (422 naming `file`)."""
    if not _UPLOAD_KIND.match(kind):
        raise ValueError(f"invalid upload kind {kind!r}")
    if not data:
        raise ValidationFailed.field("file", "the file is empty")
    if len(data) > max_bytes:
        raise ValidationFailed(f"file: larger than {max_bytes} bytes",
                               code=MediaCode.FILE_TOO_LARGE, status=413,
                               details=[{"field": "file", "message": f"at most {max_bytes} bytes"}])
    detected = detect_kind(data)
    if detected is None or detected[0] not in allowed:
        names = ", ".join(sorted(allowed))
        raise ValidationFailed(f"file: only {names} files are accepted", code=MediaCode.UNSUPPORTED_FILE_TYPE,
                               details=[{"field": "file", "message": f"accepted: {names}"}])
    content_kind, subtype = detected
    width = height = None
    if content_kind in IMAGE_KINDS:
        data, width, height = await pools.cpu(_reencode_image, data, content_kind)
    content_type, ext = _CONTENT_TYPES[subtype]
    digest = hashlib.sha256(data).hexdigest()[:40]
    today = clock.now()
    # Content-addressed: the same bytes uploaded twice are one file; the client's filename is never
    # part of the path (no traversal, no guessing).
    key = f"{kind}/{today:%Y}/{today:%m}/{digest}.{ext}"
    storage = get_storage()
    await storage.save(key, data, content_type)
    return StoredFile(url=storage.url(key), key=key, size=len(data), content_type=content_type,
                      width=width, height=height)


def read_upload(request, field: str = "file") -> tuple[bytes, str]:
    """The bytes and client filename of one multipart file field (422 naming the field if absent)."""
    files = getattr(request, "files", None) or {}
    f = files.get(field)
    if f is None:
        raise ValidationFailed.field(field, "a multipart file field is required")
    return f.body, (f.name or "")[:200]
