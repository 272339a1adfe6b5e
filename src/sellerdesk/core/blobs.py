"""Content-addressed file storage for attachments and type sniffing of what is stored."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sellerdesk.core.errors import TooLarge

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"-----BEGIN PGP", 0, "application/pgp-encrypted"),
)
_ZIP_OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_TEXT_TYPES = {
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".json": "application/json",
    ".xml": "text/xml",
    ".ics": "text/calendar",
    ".eml": "message/rfc822",
    ".md": "text/markdown",
}


def sniff_content_type(data: bytes, filename: str = "", declared: str | None = None) -> str:
    """The type the bytes really are; a declared type is trusted only where bytes can't tell."""
    head = data[:64]
    suffix = Path(filename).suffix.lower()
    for magic, offset, kind in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            if kind == "application/zip" and suffix in _ZIP_OFFICE:
                return _ZIP_OFFICE[suffix]
            return kind
    if head[4:8] == b"ftyp":
        return "video/mp4" if head[8:12] not in (b"heic", b"heix", b"mif1") else "image/heic"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _looks_like_text(data[:8192]):
        lowered = head.lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html")):
            return "text/html"
        if suffix in _TEXT_TYPES:
            return _TEXT_TYPES[suffix]
        if declared and declared.split(";")[0].strip().lower().startswith("text/"):
            return declared.split(";")[0].strip().lower()
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(sample: bytes) -> bool:
    if not sample or b"\x00" in sample:
        return not sample
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end still counts as text.
        if exc.start < len(sample) - 4:
            return _mostly_printable(sample)
    return True


def _mostly_printable(sample: bytes) -> bool:
    printable = sum(1 for b in sample if b >= 0x20 or b in (9, 10, 13))
    return printable / len(sample) > 0.95


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int


class BlobStore:
    """Files under root/ab/cd/<sha256>; writing the same bytes twice stores them once."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, *, field: str = "attachments") -> StoredBlob:
        if len(data) > self.max_bytes:
            raise TooLarge(
                "attachment.too_large",
                f"attachment is {len(data)} bytes; the limit is {self.max_bytes}",
                field=field,
            )
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredBlob(digest, len(data))

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()
