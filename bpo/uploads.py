"""Uploaded files: the size limit, enforced while the request is read.

Django writes an upload to memory or a temporary file before any view runs, and without a
handler like this one it would read a file of any size first. This handler counts each file's
bytes as they arrive and stops at the limit, so an oversized file is refused after at most the
limit has been read, and nothing of it is kept.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


def describe_size(size: int) -> str:
    """A byte count as a person reads it: '25 MiB (26,214,400 bytes)'."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


def too_large_message(filename: str, limit: int) -> str:
    return f"{filename!r} is larger than the limit of {describe_size(limit)} per file."


class UploadTooLarge(RequestDataTooBig):
    """An uploaded file exceeds OPENBPO_MAX_ATTACHMENT_BYTES; the API answers 413."""

    def __init__(self, field_name: str, filename: str, limit: int) -> None:
        self.field_name = field_name
        self.filename = filename
        self.limit = limit
        super().__init__(too_large_message(filename, limit))


class SizeLimitUploadHandler(FileUploadHandler):
    """Refuse any uploaded file larger than settings.OPENBPO_MAX_ATTACHMENT_BYTES."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        limit = settings.OPENBPO_MAX_ATTACHMENT_BYTES
        if start + len(raw_data) > limit:
            raise UploadTooLarge(self.field_name or "file", self.file_name or "file", limit)
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handler (memory or temporary file) keeps the file
