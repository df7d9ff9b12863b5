"""XEP-0166 Jingle (v1.1.2, namespace ``urn:xmpp:jingle:1``): the session layer of calls.

Every Jingle IQ a peer sends is answered here, exactly once: a result, or an error
(XEP-0166 §8). A malformed request is ``bad-request``, an action XEP-0166 does not define
``feature-not-implemented``. A sid we do not know, or one that belongs to another peer, is
``item-not-found`` with ``<unknown-session/>`` and nothing is stored; an action the
session's state does not allow is ``unexpected-request`` with ``<out-of-order/>``. A
``session-initiate`` from a JID that is not in our roster, or beyond the number of
calls a profile may have open, is acknowledged and then terminated (``decline``,
``busy``), as §6.3.2 says a responder refuses: a stranger cannot ring us, unless the
profile's ``Calls/AcceptStrangers`` param allows it.
What the session carries (RTP media, SDP, the bridge) is the application's, here
XEP-0167's (:mod:`.plugin_xep_0167`), which registers with :meth:`Jingle.register`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, ProfileNotConnected, Stanza
from sat_backend.core.lazy_import import lazy_module
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.jingle.lazy import actions
from sat_backend.plugins.jingle.namespaces import NS_JINGLE

if TYPE_CHECKING:
    from twisted.words.protocols.jabber import xmlstream

    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.jingle.stream_handler import JingleHandler
else:  # imports the TLS stack (issue 14): read once a Jingle IQ came, on an open stream
    xmlstream = lazy_module("twisted.words.protocols.jabber.xmlstream")

log = logging.getLogger(__name__)

PLUGIN_INFO = {
    "name": "Jingle",
    "import_name": "XEP-0166",
    "type": "XEP",
    "protocols": ["XEP-0166"],
    "dependencies": ["XEP-0030"],
    "main": "Jingle",
    "handler": True,
    "description": "Jingle sessions: every Jingle request answered, strangers refused",
}


class JingleRefused(Exception):
    """An application refuses a request: answered with this stanza error condition."""

    def __init__(self, condition: str, app_condition: domish.Element | None = None) -> None:
        super().__init__(condition)
        self.condition = condition
        self.app_condition = app_condition


class JingleApplication(Protocol):
    """What the session layer asks of the application that owns the sessions."""

    def session_peer(self, profile: str, sid: str) -> str | None:
        """The full JID of the peer of open session ``sid``, None when unknown."""

    def has_room(self, profile: str) -> bool:
        """Whether ``profile`` may take one more session."""

    async def accepts_caller(self, profile: str, caller: str) -> bool:
        """Whether ``caller`` (a bare JID) may open a session with ``profile``."""

    async def on_request(self, client: XmppClient, request: actions.JingleRequest, sender: str) -> None:
        """Act on a request of a known session, or on a ``session-initiate`` we accept
        to hear. :raises InvalidArgument: malformed (``bad-request``);
        :raises JingleRefused: refused with another condition."""

    def on_stream_lost(self, profile: str) -> None:
        """The profile's stream is gone, and its sessions with it."""


class Jingle:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.application: JingleApplication | None = None

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_JINGLE)
        self.host.sessions.add_handler_factory(self._make_handler)

    def _make_handler(self, client: XmppClient) -> JingleHandler:
        from sat_backend.plugins.jingle.stream_handler import JingleHandler  # issue 14: at the first connection

        return JingleHandler(self, client)

    def register(self, application: JingleApplication) -> None:
        """Hand the sessions to ``application`` (one: RTP calls)."""
        self.application = application

    async def handle(self, client: XmppClient, iq: domish.Element) -> None:
        """Answer one Jingle IQ, after acting on it."""
        try:
            sender = JID(iq.getAttribute("from") or client.jid.host).full()
        except Exception:  # noqa: BLE001 - the server checks "from"; never trust it to
            return self._reply_error(client, iq, "bad-request")
        try:
            request = actions.parse_request(next(iq.elements(NS_JINGLE, "jingle")))
        except InvalidArgument as exc:
            log.info("%s: malformed Jingle request from %s: %s", client.profile, sender, exc)
            return self._reply_error(client, iq, "bad-request")
        application = self.application
        if application is None or request.action not in actions.ACTIONS:
            return self._reply_error(client, iq, "feature-not-implemented")
        if request.action == actions.SESSION_INITIATE:
            peer = application.session_peer(client.profile, request.sid)
            if peer == sender:  # XEP-0166 §8's example of out-of-order
                return self._reply_error(client, iq, "unexpected-request", actions.out_of_order_condition())
            if peer is not None:  # another peer's sid
                return self._reply_error(client, iq, "conflict")
            refusal = await self._initiate_refusal(client, application, sender)
            if refusal is not None:
                self._reply(client, xmlstream.toResponse(iq, "result"))
                await self.terminate_quietly(client, sender, request.sid, refusal)
                return None
        elif application.session_peer(client.profile, request.sid) != sender:
            # unknown, or another peer's: XEP-0166 §8, nothing is stored
            return self._reply_error(client, iq, "item-not-found", actions.unknown_session_condition())
        try:
            await application.on_request(client, request, sender)
        except InvalidArgument as exc:
            log.info("%s: refused a Jingle %s from %s: %s", client.profile, request.action, sender, exc)
            return self._reply_error(client, iq, "bad-request")
        except JingleRefused as exc:
            return self._reply_error(client, iq, exc.condition, exc.app_condition)
        self._reply(client, xmlstream.toResponse(iq, "result"))
        return None

    async def _initiate_refusal(self, client: XmppClient, application: JingleApplication, sender: str) -> str | None:
        """The reason to refuse a new session from ``sender``, None to hear it."""
        if not await application.accepts_caller(client.profile, JID(sender).userhost()):
            log.info("%s: declined a Jingle session from %s, who is not in the roster", client.profile, sender)
            return "decline"
        if not application.has_room(client.profile):
            log.info("%s: too many calls open, %s is told busy", client.profile, sender)
            return "busy"
        return None

    async def send(self, client: XmppClient, peer: str, jingle: domish.Element) -> None:
        """Send ``jingle`` to ``peer`` in an IQ set and await its result.

        :raises Stanza: the peer answered an error (the message starts with its condition).
        :raises Timeout: no answer in time.
        """
        iq = new_iq(client, "set")
        iq["to"] = peer
        iq.addChild(jingle)
        try:
            await self.host.sessions.answer(iq.send())
        except error.StanzaError as exc:
            raise Stanza(f"{exc.condition}: the peer refused the Jingle {jingle['action']}") from None

    async def terminate_quietly(self, client: XmppClient, peer: str, sid: str, reason: str) -> None:
        """Send a ``session-terminate``; a peer gone or refusing it is only logged (the
        session is over on our side either way)."""
        try:
            await self.send(client, peer, actions.build_jingle(actions.SESSION_TERMINATE, sid, reason=reason))
        except Exception as exc:  # noqa: BLE001 - Stanza, Timeout, stream lost: nothing left to do
            log.info("%s: session-terminate to %s not acknowledged: %s", client.profile, peer, exc)

    def _reply_error(self, client: XmppClient, iq: domish.Element, condition: str,
                     app_condition: domish.Element | None = None) -> None:
        self._reply(client, error.StanzaError(condition, appCondition=app_condition).toResponse(iq))

    def _reply(self, client: XmppClient, response: domish.Element) -> None:
        try:
            client.send_stanza(response)
        except ProfileNotConnected:
            log.info("%s: stream gone before a Jingle answer could be sent", client.profile)
