"""Encryption at rest of secrets (the XMPP password of each profile).

Why this design: the backend must log in unattended (autoconnect), so the password has
to be recoverable without asking the user; what we can do is keep it out of the
database file, its backups and its copies. So:

- a 32-byte random **master key** lives in its own file, ``secret.key`` in the data dir
  (created with mode 0600; refused if group or others may read it);
- the encryption key is derived from it with **HKDF-SHA256** (no salt, ``info`` =
  ``b"sat-backend param encryption v1"``), so the master key could serve other purposes
  later without key reuse;
- each value is encrypted with **AES-256-GCM** and a fresh random 96-bit nonce, with
  associated data naming its place (``"<profile>\\0<category>/<name>"``): a token copied
  to another profile or param does not decrypt;
- the stored token is ``"v1:" + base64(nonce + ciphertext + tag)``.

Someone who has both the database and the key file has the passwords; someone with the
database alone (a backup, a bug report) does not.

The start reads and checks the key file, but ``cryptography`` is imported (and the key
derived) by the first encryption or decryption: a start needs neither (issue 14).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from sat_backend.core.exceptions import Database

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_SIZE = 32
NONCE_SIZE = 12
TOKEN_PREFIX = "v1:"
HKDF_INFO = b"sat-backend param encryption v1"


class SecretError(Database):
    """A secret cannot be decrypted (tampered token, other key) or the key is unusable."""


class SecretBox:
    """Encrypts and decrypts short secrets bound to a context string."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_SIZE:
            raise ValueError("the master key must be 32 bytes")
        self._master_key = master_key
        self._cipher: AESGCM | None = None

    @property
    def _aead(self) -> AESGCM:
        """The AES-GCM cipher of the derived key, made at the first use."""
        if self._cipher is None:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=HKDF_INFO)
            self._cipher = AESGCM(hkdf.derive(self._master_key))
        return self._cipher

    @classmethod
    def load_or_create(cls, key_path: Path) -> SecretBox:
        """Load the master key, creating it (mode 0600) on first use.

        :raises SecretError: the key file is readable by others, or malformed.
        """
        if not key_path.exists():
            key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # created concurrently: read it below
            else:
                with os.fdopen(descriptor, "wb") as key_file:
                    key_file.write(os.urandom(KEY_SIZE))
        mode = key_path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"{key_path} is accessible by other users (mode {stat.filemode(mode)}); "
                f"run `chmod 600 {key_path}`"
            )
        master_key = key_path.read_bytes()
        if len(master_key) != KEY_SIZE:
            raise SecretError(f"{key_path} is not a SàT secret key (wrong size)")
        return cls(master_key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return TOKEN_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, context: str) -> str:
        """:raises SecretError: not our token, tampered, other key or other context."""
        if not token.startswith(TOKEN_PREFIX):
            raise SecretError("stored secret has an unknown format")
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(token[len(TOKEN_PREFIX):], validate=True)
            plaintext = self._aead.decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], context.encode("utf-8"))
        except (binascii.Error, InvalidTag, ValueError):
            raise SecretError(
                "stored secret cannot be decrypted (secret key changed or data tampered with); "
                "set the password again"
            ) from None
        return plaintext.decode("utf-8")
