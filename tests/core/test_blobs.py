"""Attachment storage by content hash, and sniffing what the bytes really are."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sellerdesk.core.blobs import BlobStore, sniff_content_type
from sellerdesk.core.errors import TooLarge

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
ZIP = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024 * 1024)
    data = "Faktura nr 7/2026 — 한글".encode()

    first = blobs.put(data)
    second = blobs.put(data)

    digest = hashlib.sha256(data).hexdigest()
    assert first == second
    assert first.sha256 == digest
    assert first.size == len(data)
    assert files_under(tmp_path) == [tmp_path / digest[:2] / digest[2:4] / digest]
    assert blobs.get(digest) == data


def test_different_bytes_get_different_files(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024)

    a = blobs.put(b"one")
    b = blobs.put(b"two")

    assert a.sha256 != b.sha256
    assert len(files_under(tmp_path)) == 2


def test_over_the_limit_raises_too_large_naming_the_field(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024)

    with pytest.raises(TooLarge) as caught:
        blobs.put(b"x" * 1025, field="attachments.2")

    error = caught.value
    assert error.code == "attachment.too_large"
    assert error.field == "attachments.2"
    assert error.status_code == 413
    assert error.message == "attachment is 1025 bytes; the limit is 1024"
    assert files_under(tmp_path) == []


def test_exactly_the_limit_is_stored(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024)

    stored = blobs.put(b"y" * 1024)

    assert stored.size == 1024


def test_empty_file_is_stored(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024)

    stored = blobs.put(b"")

    assert stored.size == 0
    assert blobs.get(stored.sha256) == b""


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64, ""])
def test_only_sha256_hex_names_a_blob(tmp_path: Path, bad: str) -> None:
    blobs = BlobStore(tmp_path, max_bytes=1024)

    with pytest.raises(ValueError, match="not a sha256 hex digest"):
        blobs.get(bad)


@pytest.mark.parametrize(
    ("data", "filename", "declared", "expected"),
    [
        (PNG, "photo.png", "image/png", "image/png"),
        (PNG, "photo.txt", "text/plain", "image/png"),
        (JPEG, "IMG_0001.JPG", None, "image/jpeg"),
        (PDF, "invoice.pdf", "application/octet-stream", "application/pdf"),
        (PDF, "invoice", None, "application/pdf"),
        (ZIP, "report.docx", "application/zip", DOCX),
        (ZIP, "REPORT.DOCX", None, DOCX),
        (ZIP, "archive.zip", None, "application/zip"),
        (b"GIF89a" + b"\x00" * 20, "a.gif", None, "image/gif"),
        (b"MZ\x90\x00" + b"\x00" * 60, "setup.pdf", "application/pdf",
         "application/x-msdownload"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 20, "IMG.HEIC", None, "image/heic"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "x.webp", None, "image/webp"),
    ],
)
def test_binary_types_come_from_the_bytes(
    data: bytes, filename: str, declared: str | None, expected: str
) -> None:
    assert sniff_content_type(data, filename, declared) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"  \n<HTML><img src=x onerror=alert(1)></HTML>",
    ],
)
def test_html_disguised_as_an_image_is_html(data: bytes) -> None:
    assert sniff_content_type(data, "cat.png", "image/png") == "text/html"


def test_text_disguised_as_an_image_is_never_an_image() -> None:
    kind = sniff_content_type(b"<svg onload=alert(1)>", "cat.png", "image/png")

    assert kind == "text/plain"


@pytest.mark.parametrize(
    ("data", "filename", "declared", "expected"),
    [
        ("sku;ilość;cena\nA-1;2;19,99 zł\n".encode(), "orders.csv", None, "text/csv"),
        ("2026-11-23 10:00 ERROR 주문 실패\n".encode(), "app.log", "application/octet-stream",
         "text/plain"),
        (b"plain words", "notes", None, "text/plain"),
        (b"a,b\n1,2\n", "data.bin", "text/csv; charset=utf-8", "text/csv"),
        (b'{"order": 7}', "order.json", None, "application/json"),
        # A multi-byte character cut by the 8 KiB sample is still text.
        (b"a" * 8191 + "한글".encode(), "long.txt", None, "text/plain"),
    ],
)
def test_text_types(data: bytes, filename: str, declared: str | None, expected: str) -> None:
    assert sniff_content_type(data, filename, declared) == expected


@pytest.mark.parametrize(
    ("data", "filename", "declared"),
    [
        (bytes(range(256)) * 4, "data.csv", "text/csv"),
        (b"\x00\x01\x02\x03binary", "photo.png", "image/png"),
    ],
)
def test_unknown_binary_is_octet_stream(data: bytes, filename: str, declared: str) -> None:
    assert sniff_content_type(data, filename, declared) == "application/octet-stream"
