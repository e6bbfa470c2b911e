"""HEIC/HEIF photos (what iPhones take) made into JPEG before the usual checks: WeChat and most
browsers cannot show HEIC, and store_upload accepts only JPEG, PNG and WebP. Decoded with pillow-heif
(libheif bundled in its wheel); the pixel cap and EXIF orientation are store_upload's as for any photo."""
from __future__ import annotations

import io

from server.kit import pools
from server.kit.errors import ValidationFailed

# ISO-BMFF major brands of HEIF still images (not video: an .mp4 has "isom", "mp42" and the like).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                         b"mif1", b"msf1"})
MAX_PIXELS = 40_000_000


def is_heif(data: bytes) -> bool:
    """A HEIC/HEIF still image, by its file-type box."""
    return len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def _to_jpeg(data: bytes, max_side: int | None) -> bytes:
    import pillow_heif
    from PIL import Image

    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        width, height = heif.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise ValidationFailed.field("file", f"image dimensions {width}x{height} are not allowed")
        img = Image.frombytes(heif.mode, heif.size, bytes(heif.data), "raw", heif.mode, heif.stride)
        exif = heif.info.get("exif")
    except ValidationFailed:
        raise
    except (ValueError, OSError, RuntimeError):
        raise ValidationFailed.field("file", "the HEIC photo is damaged or cannot be read") from None
    if img.mode != "RGB":
        img = img.convert("RGB")
    if max_side and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)   # as the page scales other photos
    out = io.BytesIO()
    # The orientation tag goes along so that store_upload turns the pixels upright; store_upload then
    # writes the image again without any EXIF.
    img.save(out, format="JPEG", quality=90, **({"exif": exif} if exif else {}))
    return out.getvalue()


async def heic_to_jpeg(data: bytes, max_side: int | None = None) -> bytes:
    """JPEG bytes for a HEIC/HEIF photo (no longer than max_side on its long side); any other file
    comes back unchanged."""
    if not is_heif(data):
        return data
    return await pools.cpu(_to_jpeg, data, max_side)
