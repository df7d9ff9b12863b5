"""SASL for the XMPP client stream: SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802, RFC 7677).

Twisted's jabber client only knows DIGEST-MD5 (obsolete, RFC 6331), PLAIN and
ANONYMOUS. SCRAM proves the password without sending it and lets us check that the
server knows it too (the server signature, verified before the stream goes on), so it
is preferred; PLAIN is used only on a TLS-protected stream. Channel binding (``-PLUS``)
is not offered (gs2 flag ``n``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from typing import Any

from twisted.words.protocols.jabber import sasl, sasl_mechanisms, xmlstream
from zope.interface import implementer

#: mechanisms we use, most preferred first
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}


class ScramError(sasl.SASLError):
    """The server's SCRAM messages are malformed, or it does not know our password."""


def saslprep(text: str) -> str:
    """Normalise a user name or password (RFC 4013, simplified: NFKC and mapping of
    non-ASCII spaces to ASCII space; prohibited characters are not rejected)."""
    mapped = "".join(" " if unicodedata.category(char) == "Zs" else char for char in text)
    return unicodedata.normalize("NFKC", mapped)


def _escape_username(name: str) -> str:
    return saslprep(name).replace("=", "=3D").replace(",", "=2C")


def _parse_attributes(message: bytes) -> dict[str, str]:
    try:
        text = message.decode("utf-8")
        return dict(part.split("=", 1) for part in text.split(","))  # type: ignore[misc]
    except (UnicodeDecodeError, ValueError) as exc:
        raise ScramError(f"malformed SCRAM message: {exc}") from None


@implementer(sasl_mechanisms.ISASLMechanism)
class ScramMechanism:
    """Client side of one SCRAM exchange (a new instance per authentication)."""

    def __init__(self, name: str, username: str, password: str, client_nonce: str | None = None) -> None:
        self.name = name
        self._hash = SCRAM_HASHES[name]
        self._password = saslprep(password).encode("utf-8")
        self._client_nonce = client_nonce or base64.b64encode(os.urandom(24)).decode("ascii")
        self._client_first_bare = f"n={_escape_username(username)},r={self._client_nonce}"
        self._expected_server_signature: bytes | None = None
        self.server_verified = False

    def getInitialResponse(self) -> bytes:
        return ("n,," + self._client_first_bare).encode("utf-8")

    def getResponse(self, challenge: bytes) -> bytes:
        """Answer the server-first message; a server-final sent as a challenge is verified."""
        if self._expected_server_signature is None:
            return self._client_final(challenge)
        self.verify_server_final(challenge)
        return b""

    def _client_final(self, server_first: bytes) -> bytes:
        attributes = _parse_attributes(server_first)
        if "m" in attributes:
            raise ScramError("the server requires a SCRAM extension we do not know")
        try:
            nonce, salt, iterations = attributes["r"], base64.b64decode(attributes["s"]), int(attributes["i"])
        except (KeyError, ValueError) as exc:
            raise ScramError(f"incomplete SCRAM server-first message: {exc}") from None
        if not nonce.startswith(self._client_nonce) or len(nonce) == len(self._client_nonce):
            raise ScramError("the server's nonce does not extend ours")
        if not 1 <= iterations <= 10_000_000:
            raise ScramError(f"unreasonable SCRAM iteration count {iterations}")
        salted = hashlib.pbkdf2_hmac(self._hash, self._password, salt, iterations)
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self._hash, client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._client_first_bare},{server_first.decode('utf-8')},{without_proof}".encode()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self._expected_server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        """:raises ScramError: the server did not prove it knows the password."""
        attributes = _parse_attributes(server_final)
        if "e" in attributes:
            raise ScramError(f"the server refused the authentication: {attributes['e']}")
        expected = self._expected_server_signature
        try:
            signature = base64.b64decode(attributes["v"])
        except (KeyError, ValueError):
            raise ScramError("SCRAM server-final message without a valid signature") from None
        if expected is None or not hmac.compare_digest(signature, expected):
            raise ScramError("the server's SCRAM signature is wrong: it may be an impostor")
        self.server_verified = True

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self._hash).digest()


class SaslInitializer(sasl.SASLInitiatingInitializer):
    """SASL step of the stream: picks SCRAM when offered and checks the server signature."""

    def setMechanism(self) -> None:
        authenticator: Any = self.xmlstream.authenticator
        jid, password = authenticator.jid, authenticator.password
        offered = sasl.get_mechanisms(self.xmlstream)
        for name in SCRAM_HASHES:
            if name in offered:
                self.mechanism = ScramMechanism(name, jid.user, password)
                return
        if "PLAIN" in offered and _stream_is_encrypted(self.xmlstream):
            self.mechanism = sasl_mechanisms.Plain(None, jid.user, password)
            return
        raise sasl.SASLNoAcceptableMechanism(
            f"no acceptable SASL mechanism (server offers: {', '.join(offered) or 'none'})"
        )

    def onSuccess(self, success: Any) -> None:
        """With SCRAM the success element carries the server-final message: verify it
        before anything else is sent on the stream."""
        mechanism = self.mechanism
        if isinstance(mechanism, ScramMechanism) and not mechanism.server_verified:
            try:
                mechanism.verify_server_final(sasl.fromBase64(str(success)))
            except (ScramError, sasl.SASLIncorrectEncodingError) as exc:
                self.xmlstream.removeObserver("/challenge", self.onChallenge)
                self.xmlstream.removeObserver("/failure", self.onFailure)
                self._fail(ScramError(str(exc)))
                return
        super().onSuccess(success)

    def onChallenge(self, element: Any) -> None:
        try:
            super().onChallenge(element)
        except ScramError as exc:
            self.xmlstream.removeObserver("/challenge", self.onChallenge)
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        deferred = self._deferred
        assert deferred is not None, "SASL step failed before it started"
        deferred.errback(exc)


def _stream_is_encrypted(stream: xmlstream.XmlStream) -> bool:
    from twisted.internet.interfaces import ISSLTransport

    return ISSLTransport.providedBy(stream.transport)
