"""SecretBox: authenticated encryption of passwords, bound to their place, key file rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sat_backend.core.secrets import KEY_SIZE, SecretBox, SecretError


def box() -> SecretBox:
    return SecretBox(bytes(range(KEY_SIZE)))


def test_round_trip_and_fresh_nonce() -> None:
    first = box().encrypt("pässwörd", "alice\0Connection/Password")
    second = box().encrypt("pässwörd", "alice\0Connection/Password")
    assert first != second, "same plaintext must not give the same token"
    assert "pässwörd" not in first and first.startswith("v1:")
    assert box().decrypt(first, "alice\0Connection/Password") == "pässwörd"


def test_token_does_not_decrypt_in_another_context() -> None:
    token = box().encrypt("secret", "alice\0Connection/Password")
    with pytest.raises(SecretError, match="set the password again"):
        box().decrypt(token, "bob\0Connection/Password")


def test_token_does_not_decrypt_with_another_key() -> None:
    token = box().encrypt("secret", "ctx")
    with pytest.raises(SecretError):
        SecretBox(b"\x01" * KEY_SIZE).decrypt(token, "ctx")


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],  # flipped bits
    lambda token: token[:10],  # truncated
    lambda token: "v1:not base64!",
    lambda token: "v2:" + token[3:],  # unknown format
    lambda token: "plain password",
])
def test_tampered_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    token = box().encrypt("secret", "ctx")
    with pytest.raises(SecretError):
        box().decrypt(mangle(token), "ctx")


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_path = tmp_path / "data" / "secret.key"
    token = SecretBox.load_or_create(key_path).encrypt("secret", "ctx")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert len(key_path.read_bytes()) == KEY_SIZE
    assert SecretBox.load_or_create(key_path).decrypt(token, "ctx") == "secret"


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    SecretBox.load_or_create(key_path)
    os.chmod(key_path, 0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        SecretBox.load_or_create(key_path)


def test_malformed_key_is_refused(tmp_path: Path) -> None:
    key_path = tmp_path / "secret.key"
    key_path.write_bytes(b"short")
    key_path.chmod(0o600)
    with pytest.raises(SecretError, match="wrong size"):
        SecretBox.load_or_create(key_path)
