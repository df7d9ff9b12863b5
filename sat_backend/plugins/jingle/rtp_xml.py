"""The RTP ``<description/>`` of a Jingle content, to and from a :class:`~.model.Media`.

Implements XEP-0167 Jingle RTP Sessions 1.2.3 (``<payload-type/>``, ``<parameter/>``,
``<rtcp-mux/>``), XEP-0293 Jingle RTP Feedback Negotiation 1.0.2 (``<rtcp-fb/>``,
``<rtcp-fb-trr-int/>`` in a payload type, or in the description for ``a=rtcp-fb:*``),
XEP-0294 Jingle RTP Header Extensions Negotiation 1.1.2 (``<rtp-hdrext/>``,
``<extmap-allow-mixed/>``) and XEP-0339 Source-Specific Media Attributes in Jingle 1.0.1
(``<source/>``, ``<ssrc-group/>``).
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.model import (
    MAX_FEEDBACK,
    MAX_HEADER_EXTENSIONS,
    MAX_PARAMETERS,
    MAX_PAYLOAD_TYPES,
    MAX_SOURCE_GROUPS,
    MAX_SOURCES,
    Direction,
    HeaderExtension,
    Media,
    Parameter,
    PayloadType,
    RtcpFeedback,
    Source,
    SourceGroup,
)
from sat_backend.plugins.jingle.namespaces import (
    NS_JINGLE_RTCP_FB,
    NS_JINGLE_RTP,
    NS_JINGLE_RTP_HDREXT,
    NS_JINGLE_SSMA,
)
from sat_backend.plugins.jingle.senders import Role, direction_of, senders_of
from sat_backend.plugins.jingle.xml_reading import children, first_child, number, optional, optional_number, required

_UINT32 = 4_294_967_295
#: RFC 3551 §3: 96-127 are dynamic, bound to a codec only by a clock rate and name
FIRST_DYNAMIC_PAYLOAD_TYPE = 96


def build_description(media: Media, author: Role) -> domish.Element:
    """``<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='…'/>`` for ``media``.

    Children come in the order of the XEPs' examples (the order of different elements is
    free): media-wide feedback and header extensions, payload types, sources, rtcp-mux.
    """
    description = domish.Element((NS_JINGLE_RTP, "description"))
    description["media"] = media.kind
    _add_feedback(description, media.feedback, media.trr_int)
    for extension in media.header_extensions:
        element = description.addElement((NS_JINGLE_RTP_HDREXT, "rtp-hdrext"))
        element["id"] = str(extension.id)
        element["uri"] = extension.uri
        if extension.direction is not None:
            element["senders"] = senders_of(extension.direction, author)
        _add_parameters(element, NS_JINGLE_RTP_HDREXT, extension.parameters)
    if media.extmap_allow_mixed:
        description.addElement((NS_JINGLE_RTP_HDREXT, "extmap-allow-mixed"))
    for payload in media.payload_types:
        description.addChild(_payload_type(payload))
    for group in media.source_groups:
        element = description.addElement((NS_JINGLE_SSMA, "ssrc-group"))
        element["semantics"] = group.semantics
        for ssrc in group.ssrcs:
            element.addElement((NS_JINGLE_SSMA, "source"))["ssrc"] = str(ssrc)
    for source in media.sources:
        element = description.addElement((NS_JINGLE_SSMA, "source"))
        element["ssrc"] = str(source.ssrc)
        _add_parameters(element, NS_JINGLE_SSMA, source.parameters)
    if media.rtcp_mux:
        description.addElement((NS_JINGLE_RTP, "rtcp-mux"))
    return description


def _payload_type(payload: PayloadType) -> domish.Element:
    element = domish.Element((NS_JINGLE_RTP, "payload-type"))
    element["id"] = str(payload.id)
    if payload.name:
        element["name"] = payload.name
    if payload.clockrate is not None:
        element["clockrate"] = str(payload.clockrate)
    if payload.channels is not None:
        element["channels"] = str(payload.channels)
    _add_feedback(element, payload.feedback, payload.trr_int)
    _add_parameters(element, NS_JINGLE_RTP, payload.parameters)
    return element


def _add_feedback(parent: domish.Element, feedback: tuple[RtcpFeedback, ...], trr_int: int | None) -> None:
    for item in feedback:
        element = parent.addElement((NS_JINGLE_RTCP_FB, "rtcp-fb"))
        element["type"] = item.type
        if item.subtype is not None:
            element["subtype"] = item.subtype
        _add_parameters(element, NS_JINGLE_RTCP_FB, item.parameters)
    if trr_int is not None:
        parent.addElement((NS_JINGLE_RTCP_FB, "rtcp-fb-trr-int"))["value"] = str(trr_int)


def _add_parameters(parent: domish.Element, namespace: str, parameters: tuple[Parameter, ...]) -> None:
    for parameter in parameters:
        element = parent.addElement((namespace, "parameter"))
        element["name"] = parameter.name
        if parameter.value is not None:
            element["value"] = parameter.value


@dataclass(frozen=True)
class Description:
    """What a ``<description/>`` says: the :class:`~.model.Media` fields it carries."""

    kind: str
    payload_types: tuple[PayloadType, ...]
    feedback: tuple[RtcpFeedback, ...]
    trr_int: int | None
    header_extensions: tuple[HeaderExtension, ...]
    extmap_allow_mixed: bool
    sources: tuple[Source, ...]
    source_groups: tuple[SourceGroup, ...]
    rtcp_mux: bool


def parse_description(description: domish.Element, author: Role) -> Description:
    """The RTP fields of a ``<description/>``, checked and bounded.

    :raises InvalidArgument: a missing or malformed attribute, too many children.
    """
    payloads = tuple(
        _parse_payload_type(element) for element in children(description, NS_JINGLE_RTP, "payload-type", MAX_PAYLOAD_TYPES)
    )
    feedback, trr_int = _parse_feedback(description)
    return Description(
        kind=required(description, "media"),
        payload_types=payloads,
        feedback=feedback,
        trr_int=trr_int,
        header_extensions=tuple(
            _parse_header_extension(element, author)
            for element in children(description, NS_JINGLE_RTP_HDREXT, "rtp-hdrext", MAX_HEADER_EXTENSIONS)
        ),
        extmap_allow_mixed=first_child(description, NS_JINGLE_RTP_HDREXT, "extmap-allow-mixed") is not None,
        sources=tuple(
            Source(number(element, "ssrc", _UINT32), _parse_parameters(element, NS_JINGLE_SSMA))
            for element in children(description, NS_JINGLE_SSMA, "source", MAX_SOURCES)
        ),
        source_groups=tuple(
            SourceGroup(
                required(element, "semantics"),
                tuple(number(source, "ssrc", _UINT32) for source in children(element, NS_JINGLE_SSMA, "source", MAX_SOURCES)),
            )
            for element in children(description, NS_JINGLE_SSMA, "ssrc-group", MAX_SOURCE_GROUPS)
        ),
        rtcp_mux=first_child(description, NS_JINGLE_RTP, "rtcp-mux") is not None,
    )


def _parse_payload_type(element: domish.Element) -> PayloadType:
    feedback, trr_int = _parse_feedback(element)
    payload_id = number(element, "id", 127)
    clockrate = optional_number(element, "clockrate", _UINT32, low=1)
    if payload_id >= FIRST_DYNAMIC_PAYLOAD_TYPE and clockrate is None:
        raise InvalidArgument("a dynamic payload type has no clockrate (SDP cannot describe it without one)")
    return PayloadType(
        id=payload_id,
        name=optional(element, "name") or "",
        clockrate=clockrate,
        channels=optional_number(element, "channels", 255, low=1),
        parameters=_parse_parameters(element, NS_JINGLE_RTP),
        feedback=feedback,
        trr_int=trr_int,
    )


def _parse_feedback(parent: domish.Element) -> tuple[tuple[RtcpFeedback, ...], int | None]:
    feedback = tuple(
        RtcpFeedback(required(element, "type"), optional(element, "subtype"), _parse_parameters(element, NS_JINGLE_RTCP_FB))
        for element in children(parent, NS_JINGLE_RTCP_FB, "rtcp-fb", MAX_FEEDBACK)
    )
    trr_int = first_child(parent, NS_JINGLE_RTCP_FB, "rtcp-fb-trr-int")
    return feedback, None if trr_int is None else number(trr_int, "value", _UINT32)


def _parse_header_extension(element: domish.Element, author: Role) -> HeaderExtension:
    senders = optional(element, "senders")
    direction: Direction | None = None if senders is None else direction_of(senders, author)
    return HeaderExtension(
        id=number(element, "id", 4351, low=1),
        uri=required(element, "uri"),
        direction=direction,
        parameters=_parse_parameters(element, NS_JINGLE_RTP_HDREXT),
    )


def _parse_parameters(parent: domish.Element, namespace: str) -> tuple[Parameter, ...]:
    return tuple(
        Parameter(required(element, "name"), optional(element, "value"))
        for element in children(parent, namespace, "parameter", MAX_PARAMETERS)
    )
