"""Photos staff upload in the console (装修巡查 photos), checked before anything is kept.

A photo from WeChat is recorded as WeChat gives it (its PicUrl and MediaId), then downloaded by a
job and checked here the same way (backend/work/photo_fetch.py: WeChat's links expire). An
uploaded photo's bytes are kept in the database with it (renovation_photos: content type,
data, a small JPEG thumbnail): they survive restarts, go into backups, and need no disk shared
between console processes. Nothing is ever written to a path, least of all one made from the
uploaded name.

Refused with words for the person who uploaded (PhotoRefused; the console answers 400):
- an empty file, or one bigger than MAX_BYTES (a phone's photo is 2-5 MB);
- anything Pillow does not read as a JPEG, PNG, GIF or WebP, whatever its name or the browser's
  content type say: an SVG (it can carry script), an HTML page named .jpg, a truncated file. Only
  those four decoders are ever tried (never, say, EPS, which runs Ghostscript);
- an image of more than MAX_PIXELS (a decompression bomb: a small file that unpacks to gigabytes).
The uploaded name is kept only as a label (its last part, letters, digits and . - _ ( ) only). The
content type served back is the one Pillow found, never the browser's.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 4  # one upload
MAX_PIXELS = 50_000_000  # 8000 × 6000 is a big camera's photo
THUMB = 360  # px, the longer side
TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


class PhotoRefused(ValueError):
    """Not kept; the message says why, in Chinese, for the person who uploaded it."""


@dataclass
class Photo:
    name: str
    content_type: str
    data: bytes
    thumb: bytes  # JPEG
    width: int
    height: int


def safe_name(filename: str | None) -> str:
    """The uploaded name as a label: its last part ("../../etc/passwd" is "passwd"), no control
    characters, quotes, slashes or spaces; at most 100 characters."""
    last = re.split(r"[\\/]", unicodedata.normalize("NFKC", filename or ""))[-1]
    kept = "".join(c for c in last if c.isalnum() or c in ".-_()（）")
    return kept.strip(".")[:100] or "照片"


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def read(data: bytes, filename: str | None = None, size: int | None = None) -> Photo:
    """The photo, checked, with its thumbnail; raises PhotoRefused. `size` is the upload's whole
    size when `data` holds only its first bytes (the console stops reading past MAX_BYTES)."""
    name = safe_name(filename)
    size = len(data) if size is None else size
    if size == 0:
        raise PhotoRefused(f"「{name}」是空文件，请重新选择照片。")
    if size > MAX_BYTES or len(data) > MAX_BYTES:
        raise PhotoRefused(
            f"照片「{name}」有 {megabytes(max(size, len(data)))}，每张不能超过 {MAX_BYTES // 1024 // 1024} MB。"
            "可以用手机截图或压缩后再传。"
        )
    not_a_photo = PhotoRefused(f"「{name}」不是能打开的照片，只收 JPG、PNG、GIF、WebP 格式的图片。")
    try:
        # Sizes are read from the header before anything is decoded (MAX_PIXELS is below
        # Pillow's own bomb limit, which refuses the rest at open).
        with Image.open(io.BytesIO(data), formats=list(TYPES)) as probe:
            kind, (width, height) = probe.format, probe.size
            if width * height > MAX_PIXELS:
                raise PhotoRefused(f"照片「{name}」尺寸太大（{width}×{height}），请缩小后再传。")
            probe.verify()  # the whole file decodes (a truncated or forged one does not)
        with Image.open(io.BytesIO(data), formats=list(TYPES)) as img:
            img.draft("RGB", (THUMB * 2, THUMB * 2))  # JPEG: decode at a reduced size
            small = ImageOps.exif_transpose(img)  # as the phone held it
            small.thumbnail((THUMB, THUMB))
            if small.mode not in ("RGB", "L"):
                flat = Image.new("RGB", small.size, "white")
                rgba = small.convert("RGBA")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                small = flat
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80)
    except PhotoRefused:
        raise
    except Image.DecompressionBombError:
        raise PhotoRefused(f"照片「{name}」尺寸太大，请缩小后再传。") from None
    except UnidentifiedImageError:
        raise not_a_photo from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        raise not_a_photo from None
    return Photo(name, TYPES[kind], bytes(data), out.getvalue(), width, height)
