"""Images an item carries (a local file, an http(s) URL, or a base64 `data:` URL): how each is told apart,
hashed and read. An http(s) URL is never fetched by jurist: it is hashed by its text and passed to the model as a
URL; a local file is read and sent base64; a data URL is sent as it is."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import mimetypes
import re
from pathlib import Path

from .errors import InputError

_DATA_URL = re.compile(r"data:(?P<media>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.S)
# what vision APIs take; anything else is refused on load, where the message can name the file and field
MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def is_data_url(ref: str) -> bool:
    return ref.startswith("data:")


def media_type(ref: str) -> str | None:
    """The image's media type: a data URL's own, else guessed from the file name or URL path (None if unknown)."""
    found = _DATA_URL.match(ref)
    if found:
        return found["media"]
    guessed, _ = mimetypes.guess_type(ref.split("?")[0])
    return guessed


def problem(ref: str) -> str | None:
    """What is wrong with an image reference (a missing file, a data URL that is not base64, a type that vision
    APIs do not take), or None."""
    if is_url(ref):
        return None
    if is_data_url(ref):
        found = _DATA_URL.match(ref)
        if found is None:
            return "is a data URL but not `data:image/TYPE;base64,...`"
        try:
            base64.b64decode(found["data"], validate=True)
        except (binascii.Error, ValueError):
            return "is a data URL whose data is not valid base64"
    elif not Path(ref).is_file():
        return f"image file {ref} does not exist"
    kind = media_type(ref)
    if kind not in MEDIA_TYPES:
        return f"image {_short(ref)} is of type {kind or 'unknown'}; vision APIs take {', '.join(MEDIA_TYPES)}"
    return None


def digest(ref: str) -> str:
    """sha256 of the image's bytes (a file's or a data URL's), or of the URL's text (never fetched)."""
    if is_url(ref):
        return hashlib.sha256(ref.encode()).hexdigest()
    if is_data_url(ref):
        return hashlib.sha256(_decoded(ref)).hexdigest()
    path = Path(ref)
    try:
        stat = path.stat()
    except OSError:
        raise InputError(f"image file {ref} does not exist", file=ref, hint="check the image's path") from None
    return _file_digest(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def base64_data(ref: str) -> str:
    """The image's bytes in base64 (a file read now, a data URL's own data); not for an http(s) URL."""
    if is_data_url(ref):
        found = _DATA_URL.match(ref)
        assert found is not None  # checked on load
        return found["data"]
    try:
        return base64.b64encode(Path(ref).read_bytes()).decode()
    except OSError as exc:
        raise InputError(f"image file {ref} cannot be read: {exc.strerror}", file=ref) from None


def recorded(ref: str) -> str:
    """How the image is written into a run directory: its path or URL; a data URL shortened to its type and hash,
    so that no copy of the bytes is kept."""
    return f"data:{media_type(ref)};sha256,{digest(ref)}" if is_data_url(ref) else ref


def _short(ref: str) -> str:
    return recorded(ref) if is_data_url(ref) and _DATA_URL.match(ref) else ref[:200]


def _decoded(ref: str) -> bytes:
    found = _DATA_URL.match(ref)
    if found is None:
        raise InputError(f"{ref[:40]}... is not a `data:image/TYPE;base64,...` URL", file="<image>")
    return base64.b64decode(found["data"])


@functools.lru_cache(maxsize=4096)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    """A file's hash, read once per version of the file (the item hash is asked for many times)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
