"""What an uploaded file is, by its content: magic bytes and image dimensions (never its name or
declared type)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from app.core.errors import BadUserInput


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def _png(data: bytes) -> Sniffed | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return Sniffed("image/png", "png", width, height)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> Sniffed | None:
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    offset = 2
    while offset + 9 < len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return Sniffed("image/jpeg", "jpg", width, height)
        if length < 2:
            return None
        offset += 2 + length
    return None


def _webp(data: bytes) -> Sniffed | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return Sniffed("image/webp", "webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return Sniffed("image/webp", "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return Sniffed("image/webp", "webp", width, height)
    return None


def sniff_image(data: bytes) -> Sniffed:
    """The image type and size from its header bytes; BAD_USER_INPUT unless PNG, JPEG or WebP."""
    for parse in (_png, _jpeg, _webp):
        found = parse(data)
        if found is not None:
            if not found.width or not found.height:
                break
            return found
    raise BadUserInput("The avatar must be a PNG, JPEG or WebP image.", field="file")


def sniff_pdf(data: bytes) -> Sniffed:
    """A PDF by its `%PDF-` magic; BAD_USER_INPUT otherwise."""
    if not data.startswith(b"%PDF-"):
        raise BadUserInput("The resume must be a PDF.", field="file")
    return Sniffed("application/pdf", "pdf")
