"""Checking an uploaded file before anything is stored: its type from its content, its size, its name.

A name says nothing about what a file is, so the type comes from the bytes (magic numbers, via
`filetype`); a name whose extension claims another type is refused as disguised. Names are kept for
people (Chinese included) but made safe: no directories, no reserved characters, bounded length.
Object keys never contain them.
"""

import hashlib
from dataclasses import dataclass

import filetype
from flask_babel import lazy_gettext as _l
from pathvalidate import sanitize_filename

# Detected MIME type -> the extensions a name of that type may carry (the first is canonical).
ACCEPTED = {"application/pdf": ("pdf",), "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}
MAX_NAME = 100


class UploadError(ValueError):
    """What is wrong with a file, in words for the person who chose it."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return ACCEPTED[self.content_type][0]


def safe_name(raw: str, extension: str) -> str:
    """The last path component, sanitised; a name left empty becomes 'material.<ext>'."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    base = sanitize_filename(base, replacement_text="_").strip().lstrip(".")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[: MAX_NAME - len(extension) - 1] or "material"
    return f"{stem}.{ext.lower() or extension}"


def inspect(raw_name: str, data: bytes, max_bytes: int) -> Upload:
    """Check a file; returns it ready to store, or raises UploadError saying what is wrong."""
    if not data:
        raise UploadError(_l("The file %(name)s is empty.", name=raw_name))
    if len(data) > max_bytes:
        raise UploadError(_l("The file %(name)s is %(size)s MB; the limit is %(limit)s MB.", name=raw_name,
                             size=f"{len(data) / 2**20:.1f}", limit=f"{max_bytes / 2**20:.0f}"))
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ACCEPTED:
        raise UploadError(_l("The file %(name)s is not a PDF, JPEG or PNG file.", name=raw_name))
    extensions = ACCEPTED[kind.mime]
    name = safe_name(raw_name, extensions[0])
    if name.rsplit(".", 1)[-1] not in extensions:
        raise UploadError(_l("The file %(name)s is named as another type than its content (%(type)s).",
                             name=raw_name, type=extensions[0].upper()))
    return Upload(filename=name, content_type=kind.mime, data=data, sha256=hashlib.sha256(data).hexdigest())
