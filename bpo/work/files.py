"""Attachments' names and types: what a file is, read from its bytes, and a name safe to keep."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import IO

import puremagic
from django.core.files import File

FALLBACK_NAME = "attachment"
MAX_NAME = 200
TEXT_SAMPLE = 64 * 1024
_RESERVED = re.compile(r'[<>:"|?*]')  # not allowed in Windows file names


def clean_filename(name: str) -> str:
    """The uploaded name without any directory part, control or bidirectional-override
    characters, leading dots or characters Windows refuses; at most MAX_NAME characters with
    the extension kept; 'attachment' when nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in {"C", "Z"} or ch == " ")
    name = _RESERVED.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[: MAX_NAME - len(ext)].rstrip() + ext
    return name or FALLBACK_NAME


@dataclass(frozen=True)
class FileFacts:
    """What was read from an uploaded file's bytes."""

    size: int
    sha256: str
    content_type: str


def inspect(upload: File, filename: str) -> FileFacts:
    """Size, SHA-256 and the content type sniffed from the bytes of an uploaded file."""
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    content_type = sniff(upload, filename)
    upload.seek(0)
    return FileFacts(size=size, sha256=digest.hexdigest(), content_type=content_type)


def sniff(stream: IO[bytes], filename: str = "") -> str:
    """The MIME type of a file from its magic numbers (puremagic), never from what the uploader
    said. The name's extension only breaks ties between types the bytes allow equally (a ZIP
    container could be .docx or .xlsx). Unknown bytes are text/plain when they are UTF-8
    without NUL characters, else application/octet-stream."""
    try:
        candidates = [m for m in puremagic.magic_stream(stream) if m.mime_type]
    except (puremagic.PureError, ValueError):
        candidates = []
    stream.seek(0)
    if candidates:
        best = max(m.confidence for m in candidates)
        top = [m for m in candidates if m.confidence == best]
        extension = os.path.splitext(filename)[1].lower()
        chosen = next((m for m in top if m.extension.lower() == extension), top[0])
        return str(chosen.mime_type)
    sample = stream.read(TEXT_SAMPLE)
    stream.seek(0)
    if sample and b"\x00" not in sample:
        try:
            # A sample may end inside a multi-byte character: not final.
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        except UnicodeDecodeError:
            return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"
