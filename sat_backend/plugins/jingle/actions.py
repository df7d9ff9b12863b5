"""The ``<jingle/>`` element of a Jingle IQ: its action, sid, parties and reason, built for
what we send and parsed (bounded, typed) from what a peer sends.

Implements the session layer of XEP-0166 Jingle 1.1.2: actions (§7.2), reasons (§7.4)
and the ``unknown-session`` error condition (§8); the trickled candidates of a
``transport-info`` (XEP-0176 1.1.1 §2.2) are read and written here too, one
``<content/>`` per mid. What a description holds is :mod:`.jingle_xml`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.jids import MAX_JID_LENGTH
from sat_backend.plugins.jingle.ice_xml import build_candidate, parse_transport
from sat_backend.plugins.jingle.model import MAX_MEDIA, Candidate, Transport, check_text, check_token
from sat_backend.plugins.jingle.namespaces import NS_JINGLE, NS_JINGLE_ICE_UDP
from sat_backend.plugins.jingle.xml_reading import children, first_child, optional, required

NS_JINGLE_ERRORS = "urn:xmpp:jingle:errors:1"

#: XEP-0166 §7.2, the actions this slice acts on; the others are answered
#: ``feature-not-implemented``
SESSION_INITIATE = "session-initiate"
SESSION_ACCEPT = "session-accept"
SESSION_TERMINATE = "session-terminate"
SESSION_INFO = "session-info"
TRANSPORT_INFO = "transport-info"

#: every action of XEP-0166 §7.2: another one is not Jingle we can read
#: (``feature-not-implemented``); one of these we do not act on is refused the same way
#: within a session we know
ACTIONS = frozenset({
    "content-accept", "content-add", "content-modify", "content-reject", "content-remove",
    "description-info", "security-info", "session-accept", "session-info", "session-initiate",
    "session-terminate", "transport-accept", "transport-info", "transport-reject", "transport-replace",
})

#: XEP-0166 §7.4 reason conditions
REASONS = (
    "alternative-session", "busy", "cancel", "connectivity-error", "decline", "expired",
    "failed-application", "failed-transport", "general-error", "gone", "incompatible-parameters",
    "media-error", "security-error", "success", "timeout", "unsupported-applications",
    "unsupported-transports",
)


@dataclass(frozen=True)
class JingleRequest:
    """What a peer's ``<jingle/>`` says, before its contents are read."""

    action: str
    sid: str
    initiator: str | None
    reason: str | None
    element: domish.Element


def build_jingle(action: str, sid: str, *, initiator: str | None = None, responder: str | None = None,
                 reason: str | None = None) -> domish.Element:
    """A ``<jingle xmlns='urn:xmpp:jingle:1'/>`` for ``action``, with a ``<reason/>``
    child when ``reason`` is given (one of :data:`REASONS`)."""
    jingle = domish.Element((NS_JINGLE, "jingle"))
    jingle["action"] = action
    jingle["sid"] = sid
    if initiator is not None:
        jingle["initiator"] = initiator
    if responder is not None:
        jingle["responder"] = responder
    if reason is not None:
        jingle.addElement("reason").addElement(reason)
    return jingle


def parse_request(jingle: domish.Element) -> JingleRequest:
    """The action, sid, initiator and reason of a peer's ``<jingle/>``.

    :raises InvalidArgument: no action or sid, or a sid that is not a token.
    """
    sid = check_token(required(jingle, "sid"), "the Jingle sid")
    initiator = optional(jingle, "initiator")
    if initiator is not None:
        check_text(initiator, "the Jingle initiator", MAX_JID_LENGTH)
    return JingleRequest(required(jingle, "action"), sid, initiator, parse_reason(jingle), jingle)


def parse_reason(jingle: domish.Element) -> str | None:
    """The reason condition of a ``<jingle/>`` (``general-error`` for one we do not know),
    None when it gives none."""
    reason = first_child(jingle, NS_JINGLE, "reason")
    if reason is None:
        return None
    for child in reason.elements():
        if child.uri == NS_JINGLE and child.name != "text":
            return str(child.name) if child.name in REASONS else "general-error"
    return "general-error"


def unknown_session_condition() -> domish.Element:
    """The application condition of an ``item-not-found`` for a sid we do not know."""
    return domish.Element((NS_JINGLE_ERRORS, "unknown-session"))


def out_of_order_condition() -> domish.Element:
    """The application condition of an ``unexpected-request`` for an action the session's
    state does not allow (XEP-0166 §8: e.g. a session-initiate after session-accept)."""
    return domish.Element((NS_JINGLE_ERRORS, "out-of-order"))


def build_transport_info(sid: str, creator: str, candidates: dict[str, tuple[Candidate, ...]],
                         transports: dict[str, Transport]) -> domish.Element:
    """A ``transport-info`` ``<jingle/>`` trickling ``candidates`` (by mid), each content's
    transport carrying its ICE credentials so the peer can match them to the ICE session."""
    jingle = build_jingle(TRANSPORT_INFO, sid)
    for mid, found in candidates.items():
        content = jingle.addElement("content")
        content["creator"] = creator
        content["name"] = mid
        transport = content.addElement((NS_JINGLE_ICE_UDP, "transport"))
        credentials = transports.get(mid, Transport())
        if credentials.ice_ufrag is not None and credentials.ice_pwd is not None:
            transport["ufrag"], transport["pwd"] = credentials.ice_ufrag, credentials.ice_pwd
        for candidate in found:
            if candidate.protocol == "udp":
                transport.addChild(build_candidate(candidate, mid))
    return jingle


def parse_transport_info(jingle: domish.Element) -> dict[str, tuple[Candidate, ...]]:
    """The candidates of a ``transport-info``, by content name (mid), in order.

    :raises InvalidArgument: too many contents or candidates, a content without an
        ICE-UDP transport, a malformed candidate.
    """
    found: dict[str, tuple[Candidate, ...]] = {}
    for index, content in enumerate(children(jingle, NS_JINGLE, "content", MAX_MEDIA), 1):
        transport = first_child(content, NS_JINGLE_ICE_UDP, "transport")
        if transport is None:
            raise InvalidArgument(f"Jingle content {index} has no ICE-UDP transport")
        try:
            mid = check_token(required(content, "name"), "a content name")
            found[mid] = found.get(mid, ()) + parse_transport(transport)[1]
        except InvalidArgument as exc:
            raise InvalidArgument(f"Jingle content {index}: {exc.message}") from None
    return found
