"""The ``<group/>`` and ``<content/>`` children of a Jingle session-initiate or
session-accept, to and from a :class:`~.model.SessionDescription`.

Implements XEP-0166 Jingle 1.1.2 (``<content creator='…' name='…' senders='…'/>``) and
XEP-0338 Jingle Grouping Framework 1.0.0 (``<group semantics='BUNDLE'>`` listing
``<content name='…'/>``); the description and transport of each content are built by
:mod:`.rtp_xml` and :mod:`.ice_xml`.

The order rule: one content per media section, **in the order of the media sections**,
named by its mid (XEP-0338 §2: content names are the mids), and each group lists its
mids in the order the SDP gives; parsing keeps the order of the XML. So SDP → Jingle →
SDP never reorders anything: a video-first offer stays video-first.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.xml_payloads import deeper_than
from sat_backend.plugins.jingle.ice_xml import build_transport, parse_transport
from sat_backend.plugins.jingle.model import (
    MAX_GROUPS,
    MAX_MEDIA,
    Group,
    Media,
    Origin,
    SessionDescription,
    Transport,
    check_text,
)
from sat_backend.plugins.jingle.namespaces import (
    NS_JINGLE,
    NS_JINGLE_GROUPING,
    NS_JINGLE_ICE_UDP,
    NS_JINGLE_RTP,
)
from sat_backend.plugins.jingle.rtp_xml import build_description, parse_description
from sat_backend.plugins.jingle.senders import Role, direction_of, senders_of
from sat_backend.plugins.jingle.xml_reading import children, first_child, optional, required

#: levels below ``<jingle/>`` itself: content/description/payload-type/rtcp-fb/parameter
#: is the deepest path of the XEPs; more is refused before anything is walked
MAX_JINGLE_DEPTH = 8
#: what the ``m=`` line of a media built from Jingle says: ICE carries the real addresses
DISCARD_PORT = 9
NO_ADDRESS = "IN IP4 0.0.0.0"


def build_jingle_children(session: SessionDescription, author: Role, creator: Role = "initiator") -> list[domish.Element]:
    """The ``<group/>`` elements, then one ``<content/>`` per media section in order, to
    put in the ``<jingle/>`` element of a session-initiate (``author`` "initiator") or
    session-accept (``author`` "responder"). A rejected section (port 0 in an answer) gets
    no content and leaves the groups (XEP-0166: the responder leaves it out).

    :param creator: who created the contents: the initiator for an offer and its answer.
    """
    accepted = [media for media in session.media if media.port != 0]
    accepted_mids = {media.mid for media in accepted}
    elements = []
    for group in session.groups:
        element = domish.Element((NS_JINGLE_GROUPING, "group"))
        element["semantics"] = group.semantics
        for mid in group.mids:
            if mid in accepted_mids:
                element.addElement((NS_JINGLE_GROUPING, "content"))["name"] = mid
        elements.append(element)
    for media in accepted:
        content = domish.Element((NS_JINGLE, "content"))
        content["creator"] = creator
        content["name"] = media.mid
        content["senders"] = senders_of(media.direction, author)
        mixed = media.extmap_allow_mixed or session.extmap_allow_mixed  # said once for all, or per media
        content.addChild(build_description(replace(media, extmap_allow_mixed=mixed), author))
        content.addChild(build_transport(media.transport.over(session.transport), media.candidates, media.mid))
        elements.append(content)
    return elements


def parse_jingle(jingle: domish.Element, author: Role) -> SessionDescription:
    """The description carried by the ``<content/>`` and ``<group/>`` children of a
    ``<jingle/>`` element, media in the order of the contents.

    :param author: who sent it: "initiator" (session-initiate) or "responder"
        (session-accept); SDP directions are said from the author's side.
    :raises InvalidArgument: too deep, too many children, a content that is not an RTP
        session over ICE-UDP, a malformed or missing attribute; the message names the
        content by position, never quotes the peer's text.
    """
    if deeper_than(jingle, MAX_JINGLE_DEPTH + 1):
        raise InvalidArgument(f"the Jingle element is deeper than {MAX_JINGLE_DEPTH} levels")
    media = []
    for index, content in enumerate(children(jingle, NS_JINGLE, "content", MAX_MEDIA), 1):
        try:
            media.append(_parse_content(content, author))
        except InvalidArgument as exc:
            raise InvalidArgument(f"Jingle content {index}: {exc.message}") from None
    try:
        groups = tuple(
            Group(
                required(element, "semantics"),
                tuple(required(item, "name") for item in children(element, NS_JINGLE_GROUPING, "content", MAX_MEDIA)),
            )
            for element in children(jingle, NS_JINGLE_GROUPING, "group", MAX_GROUPS)
        )
        return SessionDescription(media=tuple(media), origin=_origin(optional(jingle, "sid")), groups=groups)
    except InvalidArgument as exc:
        raise InvalidArgument(f"Jingle: {exc.message}") from None


def _parse_content(content: domish.Element, author: Role) -> Media:
    description = first_child(content, NS_JINGLE_RTP, "description")
    transport_element = first_child(content, NS_JINGLE_ICE_UDP, "transport")
    if description is None or transport_element is None:
        raise InvalidArgument("not an RTP description over an ICE-UDP transport")
    rtp = parse_description(description, author)
    transport, candidates = parse_transport(transport_element)
    # some clients put <rtcp-mux/> in the transport: it says the same
    rtcp_mux = rtp.rtcp_mux or first_child(transport_element, NS_JINGLE_ICE_UDP, "rtcp-mux") is not None
    return Media(
        kind=rtp.kind,  # type: ignore[arg-type]  # checked by Media
        mid=required(content, "name"),
        port=DISCARD_PORT,
        protocol=_protocol(transport, bool(rtp.feedback) or any(payload.feedback for payload in rtp.payload_types)),
        payload_types=rtp.payload_types,
        direction=direction_of(optional(content, "senders") or "both", author),
        rtcp_mux=rtcp_mux,
        header_extensions=rtp.header_extensions,
        extmap_allow_mixed=rtp.extmap_allow_mixed,
        feedback=rtp.feedback,
        trr_int=rtp.trr_int,
        sources=rtp.sources,
        source_groups=rtp.source_groups,
        transport=transport,
        candidates=candidates,
        connection=NO_ADDRESS,
    )


def _protocol(transport: Transport, feedback: bool) -> str:
    """The ``m=`` protocol: DTLS-SRTP when a fingerprint is given (WebRTC), else plain RTP
    with (AVPF) or without (AVP) feedback."""
    if transport.fingerprints:
        return "UDP/TLS/RTP/SAVPF"
    return "RTP/AVPF" if feedback else "RTP/AVP"


def _origin(sid: str | None) -> Origin:
    """A stable ``o=`` for a description read from XML: its session id derived from the
    Jingle sid (SDP wants digits)."""
    if sid is None:
        return Origin()
    check_text(sid, "the Jingle sid", 256)
    return Origin(session_id=str(int.from_bytes(hashlib.sha256(sid.encode()).digest()[:7], "big")))
