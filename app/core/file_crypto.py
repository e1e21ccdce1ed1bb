"""Uploaded files encrypted at rest (envelope encryption).

Every file gets its own random 256-bit data key and is sealed with AES-256-GCM under it; the data
key is wrapped (AES key wrap, RFC 3394) by the key-encryption key `FILES_ENCRYPTION_KEY` and stored
in the file's metadata row, never beside the bytes. So the stored bytes alone reveal nothing,
rotating `FILES_ENCRYPTION_KEY` re-wraps 40-byte data keys instead of re-encrypting files, and a
sealed file moves unchanged between storage backends. The file's storage key is bound in as
associated data: a file copied under another name does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

KEY_BYTES = 32
NONCE_BYTES = 12
MAGIC = b"MIF1"  # sealed file, format 1: MAGIC | 12-byte nonce | AES-256-GCM ciphertext and tag
_KEY_ID_LABEL = b"mockinterview files key id"


class FilesKeyError(ValueError):
    """A `FILES_ENCRYPTION_KEY` that is not 32 bytes in base64."""


class WrongFilesKey(Exception):
    """A data key wrapped by another key than the one configured (e.g. mid-rotation)."""


class DamagedFile(Exception):
    """A sealed file or wrapped key that fails its integrity check."""


@dataclass(frozen=True, repr=False)
class FilesKey:
    """The key-encryption key. Its id (an HMAC of a fixed label, so it says nothing about the key)
    is stored with every data key it wraps."""

    material: bytes

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise FilesKeyError(f"FILES_ENCRYPTION_KEY must be {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"FilesKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        return hmac.new(self.material, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    @classmethod
    def parse(cls, text: str) -> FilesKey:
        """A key from its base64 text (standard or URL-safe alphabet, e.g. `openssl rand -base64 32`)."""
        try:
            material = base64.b64decode(text.strip().translate(str.maketrans("-_", "+/")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FilesKeyError("FILES_ENCRYPTION_KEY must be base64") from exc
        if len(material) != KEY_BYTES:
            raise FilesKeyError(f"FILES_ENCRYPTION_KEY must decode to {KEY_BYTES} bytes, not {len(material)}")
        return cls(material)


def generate_files_key() -> str:
    """A new random `FILES_ENCRYPTION_KEY` in base64."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


@dataclass(frozen=True)
class SealedFile:
    blob: bytes  # what the storage backend keeps
    wrapped_key: bytes  # the data key, wrapped by the files key: kept in the metadata row
    key_id: str  # which files key wrapped it


def _associated_data(name: str) -> bytes:
    return b"mockinterview file " + name.encode()


def seal(key: FilesKey, plaintext: bytes, *, name: str) -> SealedFile:
    """Encrypt `plaintext`, to be stored under `name`, with a fresh data key."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _associated_data(name))
    return SealedFile(MAGIC + nonce + ciphertext, aes_key_wrap(key.material, data_key), key.key_id)


def _unwrap(key: FilesKey, wrapped_key: bytes, key_id: str) -> bytes:
    if key_id != key.key_id:
        raise WrongFilesKey(f"data key wrapped by files key {key_id}, configured is {key.key_id}")
    try:
        return aes_key_unwrap(key.material, wrapped_key)
    except InvalidUnwrap as exc:
        raise DamagedFile("wrapped data key fails its integrity check") from exc


def unseal(key: FilesKey, blob: bytes, *, wrapped_key: bytes, key_id: str, name: str) -> bytes:
    """The plaintext of a file `seal` produced for `name`."""
    data_key = _unwrap(key, wrapped_key, key_id)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES:
        raise DamagedFile("not a sealed file")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES :], _associated_data(name))
    except InvalidTag as exc:
        raise DamagedFile("sealed file fails its integrity check") from exc


def rewrap(wrapped_key: bytes, key_id: str, *, old: FilesKey, new: FilesKey) -> bytes:
    """The same data key wrapped by `new` instead of `old` (the file itself is untouched)."""
    return aes_key_wrap(new.material, _unwrap(old, wrapped_key, key_id))
