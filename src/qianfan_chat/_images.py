"""Images for v2 chat: a local file or bytes as a ``data:`` URL (its MIME read from the bytes,
never from the name), an ``image_url`` part, and the checks made before the network (the 10 MB
limit; a warning, never a refusal, for a model the table knows as text-only: tables go stale).

Facts: :mod:`._protocol.images` (``protocol-v2-extensions.md`` section 1).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidRequestError
from ._protocol import images
from ._protocol.models_v2 import is_text_only


class TextOnlyModelWarning(UserWarning):
    """An image part was sent to a model the built-in table knows as text-only. The call is
    still sent (the service may know better); it may answer HTTP 400 ``invalid_argument``."""


def image_data_url(source: bytes | str | os.PathLike[str], *, mime: str | None = None) -> str:
    """A ``data:<mime>;base64,...`` URL of an image given as bytes or a local file path.

    The MIME type comes from the bytes' magic (PNG, JPEG, GIF, WEBP, BMP, TIFF), not from the
    file name; pass ``mime=`` for another format. An image over 10 MB raises
    :class:`InvalidRequestError` (nothing is sent)::

        part = {"type": "image_url", "image_url": {"url": image_data_url("cat.png")}}
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            with open(os.fspath(source), "rb") as f:
                data = f.read(images.MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise InvalidRequestError("image", f"cannot read {os.fspath(source)!r}: {exc}") from exc
    if len(data) > images.MAX_IMAGE_BYTES:
        raise InvalidRequestError("image", "each image must be at most 10 MB")
    kind = mime or images.sniff_mime(data)
    if kind is None:
        raise InvalidRequestError(
            "image", "unknown image format (not PNG, JPEG, GIF, WEBP, BMP or TIFF): pass mime="
        )
    return images.to_data_url(data, kind)


def image_part(
    source: bytes | str | os.PathLike[str], *, detail: str | None = None
) -> dict[str, Any]:
    """An ``image_url`` content part: an http(s) or ``data:`` URL as given, else bytes or a
    local path turned into a data URL (:func:`image_data_url`). ``detail``: low or high."""
    if isinstance(source, str) and (images.is_http_url(source) or images.is_data_url(source)):
        url = source
    else:
        url = image_data_url(source)
    inner: dict[str, Any] = {"url": url}
    if detail is not None:
        inner["detail"] = detail
    return {"type": images.IMAGE_URL_PART, images.IMAGE_URL_PART: inner}


def prepare_messages(model: str, messages: Any, *, stacklevel: int = 2) -> Any:
    """The messages to send: all-text part lists as plain strings; image parts left as they
    are, with a :class:`TextOnlyModelWarning` when the table says ``model`` reads no images.
    (The size and shape checks are the v2 rules'.)"""
    if not isinstance(messages, list):
        return messages
    out = []
    saw_image = False
    for message in messages:
        if isinstance(message, Mapping) and isinstance(message.get("content"), list):
            content = message["content"]
            collapsed = images.collapse_text_parts(content)
            if collapsed is not content:
                message = {**message, "content": collapsed}
            saw_image = saw_image or images.has_image_parts(content)
        out.append(message)
    if saw_image and is_text_only(model):
        warnings.warn(
            f"model {model!r} is text-only in the built-in table; sending the image anyway",
            TextOnlyModelWarning,
            stacklevel=stacklevel + 1,
        )
    return out


def has_images(messages: Iterable[Any]) -> bool:
    return any(
        isinstance(m, Mapping) and images.has_image_parts(m.get("content")) for m in messages
    )
