"""The XMPP client side of the backend (RFC 6120): stream, authentication, TLS, reconnection."""
