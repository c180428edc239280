"""Image (and video) content parts on the local server's v2 chat route: pure functions, no I/O.
Every answer built from them is TEST DATA.

Source: ``shared/docs/protocol-v2-extensions.md`` section 1; the facts (part shapes, the 10 MB
limit, ``data:`` URLs, formats by their magic bytes, PNG/JPEG headers, the text-only error) are
:mod:`qianfan_chat._protocol.images`'s. A part is ``{"type": "image_url", "image_url": {"url":
URL, "detail": "low" | "high"}}`` (a bare URL string for ``image_url`` is accepted too):

* a ``data:`` URL is decoded; its size is checked against the limit before decoding (from the
  base64 length); its format is read from the bytes' magic number (the declared MIME is
  reported, the bytes decide); the pixel size is read from a PNG or JPEG header;
* an ``http(s)`` URL is **never fetched**: the server answers from the URL alone (the MIME its
  extension suggests; no size, no pixels);
* a ``video_url`` part ([3p], limits unverified) is counted and reported by its URL only.

Order on the route (:mod:`.v2`): the parts' shape and size first (the body rules then see only
text, :func:`text_view`), then the model (one the table knows as text-only: HTTP 400
``invalid_argument``, the committed fixture's text), then decoding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .._protocol import images as facts

MEDIA_PARTS = (facts.IMAGE_URL_PART, facts.VIDEO_URL_PART)
# In the rules' view, a message whose parts were all media holds this instead, so an image-only
# message is not "blank" (the body rules read text only). The engine never sees it.
_RULES_PLACEHOLDER = {"type": "text", "text": "[media]"}
# What an http(s) image's extension suggests (the server never fetches it).
_MIME_BY_EXTENSION = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
}


@dataclass(frozen=True, slots=True)
class MediaError:
    """A refused part: the v2 code and message the route answers with (HTTP 400)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class MediaPart:
    """One image or video part as found in the body (shape checked, not decoded)."""

    where: str  # messages[i].content[j]
    kind: str  # image_url | video_url
    url: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the server read of one part. ``source``: ``data`` (decoded) or ``url`` (never
    fetched: ``size``, ``width`` and ``height`` are None)."""

    where: str
    kind: str
    source: str
    mime: str | None
    declared_mime: str | None
    size: int | None
    width: int | None
    height: int | None
    detail: str | None
    url: str | None

    def describe(self) -> str:
        """This part's clause of the scripted answer (TEST DATA)."""
        what = "视频" if self.kind == facts.VIDEO_URL_PART else "图片"
        if self.source == "url":
            return f"{what}链接 {self.url}（{self.mime or '类型未知'}，未下载）"
        pixels = f"，{self.width}×{self.height} 像素" if self.width and self.height else ""
        return f"{what} {self.mime}，{self.size} 字节{pixels}"


def _bad(where: str, rule: str) -> MediaError:
    return MediaError("invalid_argument", f"Invalid argument: {where} {rule}")


def _part(where: str, part: Mapping[str, Any]) -> MediaPart | MediaError:
    kind = str(part.get("type"))
    if kind == facts.IMAGE_URL_PART:
        problem = facts.check_image_part(part)
        if problem is not None:
            field, rule = problem
            url = facts.image_url_of(part) or ""
            if facts.is_data_url(url) and facts.data_url_size(url) > facts.MAX_IMAGE_BYTES:
                size = facts.data_url_size(url)
                return MediaError(
                    "invalid_argument", f"{facts.TOO_LARGE_MESSAGE} ({where}: {size} bytes)"
                )
            return _bad(f"{where}.{field}", rule)
        inner = part.get(kind)
        detail = inner.get("detail") if isinstance(inner, Mapping) else None
        return MediaPart(where, kind, facts.image_url_of(part) or "", detail)
    video = part.get(kind)
    if isinstance(video, Mapping):
        video = video.get("url")
    if not isinstance(video, str) or not facts.is_http_url(video):
        return _bad(f"{where}.{kind}", "must be {url: an http(s) URL}")
    return MediaPart(where, kind, video, None)


def media_parts(messages: Any) -> list[MediaPart] | MediaError:
    """Every image / video part of the messages, in order, shape and size checked. Anything
    that is not a list of messages is left to the body rules."""
    found: list[MediaPart] = []
    if not isinstance(messages, list):
        return found
    for i, msg in enumerate(messages):
        content = msg.get("content") if isinstance(msg, Mapping) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if isinstance(part, Mapping) and part.get("type") in MEDIA_PARTS:
                read = _part(f"messages[{i}].content[{j}]", part)
                if isinstance(read, MediaError):
                    return read
                found.append(read)
    return found


def _is_media(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") in MEDIA_PARTS


def text_view(body: Mapping[str, Any], *, for_rules: bool) -> dict[str, Any]:
    """The body with media parts taken out of each message's content: what the body rules,
    the token count and the engine read (they know text only). ``for_rules``: a message left
    with no part gets a placeholder text part, so an image-only message is not blank."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return dict(body)
    out: list[Any] = []
    for msg in messages:
        content = msg.get("content") if isinstance(msg, Mapping) else None
        if not isinstance(content, list) or not any(_is_media(p) for p in content):
            out.append(msg)
            continue
        kept = [p for p in content if not _is_media(p)]
        if for_rules and not kept:
            kept = [_RULES_PLACEHOLDER]
        out.append({**msg, "content": kept})
    return {**body, "messages": out}


def text_only_error() -> MediaError:
    """What a model the table knows as text-only answers to an image part (the committed
    fixture, extensions section 1; the live text is [unverified])."""
    return MediaError(facts.TEXT_ONLY_CODE, facts.TEXT_ONLY_MESSAGE)


def read_part(part: MediaPart) -> MediaInfo | MediaError:
    """Decode a ``data:`` image, or describe an ``http(s)`` part from its URL alone (never
    fetched); bytes of no known image format are an error."""
    if not facts.is_data_url(part.url):
        return MediaInfo(
            part.where, part.kind, "url", _mime_from_path(part.url), None, None, None, None,
            part.detail, part.url,
        )  # fmt: skip
    where = f"{part.where}.{part.kind}.url"
    try:
        declared, data = facts.parse_data_url(part.url)
    except ValueError as exc:
        return _bad(where, str(exc))
    if len(data) > facts.MAX_IMAGE_BYTES:  # a percent-encoded URL is only sized once decoded
        return MediaError(
            "invalid_argument", f"{facts.TOO_LARGE_MESSAGE} ({part.where}: {len(data)} bytes)"
        )
    mime = facts.sniff_mime(data)
    if mime is None:
        known = ", ".join(facts.IMAGE_MIMES)
        return _bad(where, f"is not an image of a known format ({known})")
    width, height = facts.image_size(data) or (None, None)
    return MediaInfo(
        part.where, part.kind, "data", mime, declared, len(data), width, height, part.detail,
        None,
    )  # fmt: skip


def read_parts(parts: Sequence[MediaPart]) -> list[MediaInfo] | MediaError:
    """:func:`read_part` of each part; the first error wins. (CPU that grows with the body:
    the route runs it off the loop for a large one.)"""
    out: list[MediaInfo] = []
    for part in parts:
        read = read_part(part)
        if isinstance(read, MediaError):
            return read
        out.append(read)
    return out


def _mime_from_path(url: str) -> str | None:
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return _MIME_BY_EXTENSION.get(name.rsplit(".", 1)[-1]) if "." in name else None


def summary(media: Sequence[MediaInfo]) -> str:
    """The deterministic sentence the server puts before its text answer (TEST DATA), e.g.
    ``收到 1 张图片：1. 图片 image/png，68 字节，2×3 像素。``"""
    pictures = sum(1 for m in media if m.kind == facts.IMAGE_URL_PART)
    videos = len(media) - pictures
    counted = f"{pictures} 张图片" + (f"、{videos} 段视频" if videos else "")
    lines = "；".join(f"{n}. {m.describe()}" for n, m in enumerate(media, 1))
    return f"收到 {counted}：{lines}。"
