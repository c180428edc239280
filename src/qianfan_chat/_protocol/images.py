"""Image content parts: their shape, the per-image limit, ``data:`` URLs and the formats known
by their first bytes. Read by the client (checks before the network), the LangChain converters
and the local server (which decodes what it receives).

Source: ``shared/docs/protocol-v2-extensions.md`` section 1: a part
``{"type": "image_url", "image_url": {"url": URL, "detail": "low"|"high"}}``, ``url`` an
http(s) link or ``data:image/<fmt>;base64,<data>``, each image at most 10 MB [doc]; a text-only
model answers HTTP 400 ``invalid_argument`` with :data:`TEXT_ONLY_MESSAGE` [unverified, one
fixture]. ``video_url`` parts exist [3p]; they are passed through unchecked.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping
from typing import Any, Final

TEXT_PART: Final = "text"
IMAGE_URL_PART: Final = "image_url"
VIDEO_URL_PART: Final = "video_url"
PART_TYPES: Final = (TEXT_PART, IMAGE_URL_PART, VIDEO_URL_PART)
# "auto" is OpenAI's and harmless to accept; Qianfan documents low and high.
DETAILS: Final = ("low", "high", "auto")
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024  # "10 MB" per image (decoded bytes)
URL_SCHEMES: Final = ("http://", "https://")
DATA_URL_PREFIX: Final = "data:"

TEXT_ONLY_CODE: Final = "invalid_argument"
TEXT_ONLY_MESSAGE: Final = "Invalid content type. image_url is only supported by certain models"
TOO_LARGE_MESSAGE: Final = "Invalid image: each image must be at most 10 MB"

# Formats by their magic bytes: (prefix at offset 0, MIME). WEBP is checked apart (RIFF....WEBP).
_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
IMAGE_MIMES: Final = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
)
_DATA_URL: Final = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?),", re.A)


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type the first bytes name, or None when they name no known format."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


def to_data_url(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,<data>``."""
    return f"{DATA_URL_PREFIX}{mime};base64,{base64.b64encode(data).decode('ascii')}"


def is_data_url(url: str) -> bool:
    return url[:5].lower() == DATA_URL_PREFIX


def is_http_url(url: str) -> bool:
    return url[:8].lower().startswith(URL_SCHEMES)


def parse_data_url(url: str) -> tuple[str | None, bytes]:
    """``(declared MIME or None, decoded bytes)`` of a ``data:`` URL; ValueError when it is
    not one (bad header, or base64 that does not decode)."""
    match = _DATA_URL.match(url)
    if match is None:
        raise ValueError("not a data: URL (data:<mime>;base64,<data>)")
    payload = url[match.end() :]
    if ";base64" not in match.group("params").lower():
        from urllib.parse import unquote_to_bytes

        return match.group("mime"), unquote_to_bytes(payload)
    try:
        return match.group("mime"), base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the data: URL's base64 does not decode") from exc


def data_url_size(url: str) -> int:
    """The decoded size in bytes of a base64 ``data:`` URL, counted without decoding (so the
    limit is checked cheaply); 0 when the URL is not one."""
    comma = url.find(",")
    if comma < 0 or not is_data_url(url):
        return 0
    payload = url[comma + 1 :].rstrip()
    if ";base64" not in url[:comma].lower():
        return len(payload)
    pad = len(payload) - len(payload.rstrip("="))
    return max(0, len(payload) * 3 // 4 - pad)


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` in pixels from a PNG's IHDR or a JPEG's SOF header; None for other
    formats or a truncated header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def image_url_of(part: Any) -> str | None:
    """The URL of an ``image_url`` part (``{"image_url": {"url": ...}}``, or the plain string
    form some clients send), else None."""
    if not isinstance(part, Mapping) or part.get("type") != IMAGE_URL_PART:
        return None
    inner = part.get(IMAGE_URL_PART)
    if isinstance(inner, str):
        return inner
    if isinstance(inner, Mapping) and isinstance(inner.get("url"), str):
        return str(inner["url"])
    return None


def has_image_parts(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(p, Mapping) and p.get("type") in (IMAGE_URL_PART, VIDEO_URL_PART)
        for p in content
    )


def check_image_part(part: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(field below the part, rule)`` when an ``image_url`` part is malformed or too large,
    else None. The size of an http(s) image is not known before it is fetched."""
    inner = part.get(IMAGE_URL_PART)
    url = image_url_of(part)
    if url is None:
        return IMAGE_URL_PART, "must be {url: http(s) or data: URL, detail?: low|high}"
    if isinstance(inner, Mapping):
        detail = inner.get("detail")
        if detail is not None and detail not in DETAILS:
            return f"{IMAGE_URL_PART}.detail", f"must be one of {', '.join(DETAILS)}"
    if is_data_url(url):
        if _DATA_URL.match(url) is None:
            return f"{IMAGE_URL_PART}.url", "must be data:<mime>;base64,<data>"
        if data_url_size(url) > MAX_IMAGE_BYTES:
            return f"{IMAGE_URL_PART}.url", "each image must be at most 10 MB"
        return None
    if not is_http_url(url):
        return f"{IMAGE_URL_PART}.url", "must be an http(s) URL or a data: URL"
    return None


def collapse_text_parts(content: Any) -> Any:
    """A list whose parts are all text parts, as one string (some text-only models reject part
    arrays, extensions section 1); anything else unchanged."""
    if not isinstance(content, list) or not content:
        return content
    texts = []
    for part in content:
        if not isinstance(part, Mapping) or part.get("type", TEXT_PART) != TEXT_PART:
            return content
        text = part.get("text")
        if not isinstance(text, str):
            return content
        texts.append(text)
    return "".join(texts)
