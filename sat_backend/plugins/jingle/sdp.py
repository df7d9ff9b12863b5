"""SDP offers and answers (RFC 8866), as WebRTC engines and aiortc write them, to and from
the typed :class:`~.model.SessionDescription`.

What Jingle can carry is kept: the BUNDLE group, ICE credentials and candidates, DTLS
fingerprints and setup, and per media section (in order) its kind, mid, port, protocol,
direction, rtcp-mux, payload types with ``rtpmap``/``fmtp``/``rtcp-fb``, ``extmap`` and
``ssrc``/``ssrc-group``. Other attributes (``msid``, ``rtcp``, ``ice-options``…) are
checked like every line and then left out.

A frontend's SDP is untrusted: its size, line count and line length are bounded before
anything is parsed, and a malformed line is refused with ``InvalidArgument`` naming its
line number, never its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.candidates import candidate_attribute, parse_candidate
from sat_backend.plugins.jingle.model import (
    DIRECTIONS,
    MAX_CANDIDATES,
    MAX_FEEDBACK,
    MAX_FINGERPRINTS,
    MAX_LINE_LENGTH,
    MAX_LINES,
    MAX_MEDIA,
    MAX_PARAMETERS,
    MAX_PAYLOAD_TYPES,
    MAX_SDP_LENGTH,
    MAX_SOURCES,
    SETUPS,
    Candidate,
    Direction,
    Fingerprint,
    Group,
    HeaderExtension,
    Media,
    MediaKind,
    Origin,
    Parameter,
    PayloadType,
    RtcpFeedback,
    SessionDescription,
    Setup,
    Source,
    SourceGroup,
    Transport,
    check_count,
    check_ice_credential,
    check_text,
    check_token,
    check_unique,
    parse_int,
)


def parse_sdp(text: str) -> SessionDescription:
    """The typed description of an SDP offer or answer.

    :raises InvalidArgument: too large, or a malformed line; the message names the line
        number (and what is wrong), never the text.
    """
    if len(text) > MAX_SDP_LENGTH:
        raise InvalidArgument(f"the SDP is longer than {MAX_SDP_LENGTH} characters")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) > MAX_LINES:
        raise InvalidArgument(f"the SDP has more than {MAX_LINES} lines")
    parser = _Parser()
    for number, line in enumerate(lines, 1):
        try:
            parser.feed(number, line.removesuffix("\r"))
        except InvalidArgument as exc:
            raise InvalidArgument(f"SDP line {number}: {exc.message}") from None
    return parser.finish()


def serialise_sdp(session: SessionDescription) -> str:
    """The SDP text of ``session`` (CRLF line ends, media sections in order)."""
    origin = session.origin
    lines = [
        "v=0",
        f"o={origin.username} {origin.session_id} {origin.session_version} "
        f"{origin.network_type} {origin.address_type} {origin.address}",
        "s=-",
        "t=0 0",
    ]
    lines += [f"a=group:{' '.join((group.semantics, *group.mids))}" for group in session.groups]
    if session.extmap_allow_mixed:
        lines.append("a=extmap-allow-mixed")
    lines += _transport_lines(session.transport)
    for media in session.media:
        lines += _media_lines(media)
    return "\r\n".join(lines) + "\r\n"


def _media_lines(media: Media) -> list[str]:
    formats = " ".join(str(payload.id) for payload in media.payload_types)
    lines = [f"m={media.kind} {media.port} {media.protocol} {formats}", f"c={media.connection or 'IN IP4 0.0.0.0'}"]
    lines += _transport_lines(media.transport)
    lines += [f"a=mid:{media.mid}", f"a={media.direction}"]
    if media.rtcp_mux:
        lines.append("a=rtcp-mux")
    for extension in media.header_extensions:
        direction = f"/{extension.direction}" if extension.direction else ""
        lines.append(f"a=extmap:{' '.join((f'{extension.id}{direction}', extension.uri, *map(_parameter_text, extension.parameters)))}")
    if media.extmap_allow_mixed:
        lines.append("a=extmap-allow-mixed")
    lines += _feedback_lines("*", media.feedback, media.trr_int)
    for payload in media.payload_types:
        lines += _payload_lines(payload)
    for group in media.source_groups:
        lines.append(f"a=ssrc-group:{' '.join((group.semantics, *map(str, group.ssrcs)))}")
    for source in media.sources:
        lines += [f"a=ssrc:{source.ssrc} {_parameter_text(parameter, ':')}" for parameter in source.parameters]
    lines += [f"a={candidate_attribute(candidate)}" for candidate in media.candidates]
    if media.end_of_candidates:
        lines.append("a=end-of-candidates")
    return lines


def _transport_lines(transport: Transport) -> list[str]:
    lines = []
    if transport.ice_ufrag is not None:
        lines.append(f"a=ice-ufrag:{transport.ice_ufrag}")
    if transport.ice_pwd is not None:
        lines.append(f"a=ice-pwd:{transport.ice_pwd}")
    lines += [f"a=fingerprint:{fingerprint.hash} {fingerprint.value}" for fingerprint in transport.fingerprints]
    if transport.setup is not None:
        lines.append(f"a=setup:{transport.setup}")
    return lines


def _payload_lines(payload: PayloadType) -> list[str]:
    lines = []
    if payload.name and payload.clockrate is not None:  # a static type without one needs no rtpmap
        rtpmap = f"{payload.name}/{payload.clockrate}"
        if payload.channels is not None:
            rtpmap += f"/{payload.channels}"
        lines.append(f"a=rtpmap:{payload.id} {rtpmap}")
    lines += _feedback_lines(str(payload.id), payload.feedback, payload.trr_int)
    if payload.parameters:
        lines.append(f"a=fmtp:{payload.id} {';'.join(map(_parameter_text, payload.parameters))}")
    return lines


def _feedback_lines(target: str, feedback: tuple[RtcpFeedback, ...], trr_int: int | None) -> list[str]:
    lines = []
    for item in feedback:
        words = [item.type, *([item.subtype] if item.subtype else []), *map(_parameter_text, item.parameters)]
        lines.append(f"a=rtcp-fb:{target} {' '.join(words)}")
    if trr_int is not None:
        lines.append(f"a=rtcp-fb:{target} trr-int {trr_int}")
    return lines


def _parameter_text(parameter: Parameter, separator: str = "=") -> str:
    return parameter.name if parameter.value is None else f"{parameter.name}{separator}{parameter.value}"


def _parameters(words: list[str]) -> tuple[Parameter, ...]:
    """``name=value`` or bare ``name`` words (extmap and rtcp-fb extras)."""
    check_count(words, MAX_PARAMETERS, "parameters on one line")
    return tuple(_parameter(word, "=") for word in words)


def _parameter(text: str, separator: str) -> Parameter:
    name, found, value = text.partition(separator)
    if not name.strip():
        raise InvalidArgument("a parameter has no name")
    return Parameter(name.strip(), value.strip() if found else None)


def _split(value: str, count: int, what: str) -> list[str]:
    """``value`` cut at spaces into ``count`` words at least (the last one keeps its spaces)."""
    words = value.split(" ", count - 1)
    if len(words) < count or not all(words):
        raise InvalidArgument(f"{what} lacks a field")
    return words


@dataclass
class _MediaParser:
    """What is known of a media section while its lines are read."""

    number: int
    kind: MediaKind
    port: int
    protocol: str
    formats: list[int]
    mid: str | None = None
    direction: Direction | None = None
    rtcp_mux: bool = False
    connection: str | None = None
    rtpmaps: dict[int, tuple[str, int | None, int | None]] = field(default_factory=dict)
    fmtps: dict[int, tuple[Parameter, ...]] = field(default_factory=dict)
    feedback: dict[str, list[RtcpFeedback]] = field(default_factory=dict)
    trr_ints: dict[str, int] = field(default_factory=dict)
    extensions: list[HeaderExtension] = field(default_factory=list)
    extmap_allow_mixed: bool = False
    sources: dict[int, list[Parameter]] = field(default_factory=dict)
    source_groups: list[SourceGroup] = field(default_factory=list)
    transport: dict[str, str] = field(default_factory=dict)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    end_of_candidates: bool = False

    def payload(self, text: str, wildcard: bool = False) -> str:
        """A payload type this section's ``m=`` line lists (or ``*``), as written."""
        if wildcard and text == "*":
            return text
        if parse_int(text, 0, 127, "a payload type") not in self.formats:
            raise InvalidArgument("the payload type is not listed on the m= line")
        return str(int(text))

    def build(self, session_direction: Direction | None) -> Media:
        if self.mid is None:
            raise InvalidArgument("the media section has no a=mid")
        payloads = tuple(
            PayloadType(
                number,
                *self.rtpmaps.get(number, ("", None, None)),
                parameters=self.fmtps.get(number, ()),
                feedback=tuple(self.feedback.get(str(number), ())),
                trr_int=self.trr_ints.get(str(number)),
            )
            for number in self.formats
        )
        return Media(
            kind=self.kind,
            mid=self.mid,
            port=self.port,
            protocol=self.protocol,
            payload_types=payloads,
            direction=self.direction or session_direction or "sendrecv",
            rtcp_mux=self.rtcp_mux,
            header_extensions=tuple(self.extensions),
            extmap_allow_mixed=self.extmap_allow_mixed,
            feedback=tuple(self.feedback.get("*", ())),
            trr_int=self.trr_ints.get("*"),
            sources=tuple(Source(ssrc, tuple(parameters)) for ssrc, parameters in self.sources.items()),
            source_groups=tuple(self.source_groups),
            transport=_transport(self.transport, self.fingerprints),
            candidates=tuple(self.candidates),
            end_of_candidates=self.end_of_candidates,
            connection=self.connection,
        )


def _transport(values: dict[str, str], fingerprints: list[Fingerprint]) -> Transport:
    return Transport(
        ice_ufrag=values.get("ice-ufrag"),
        ice_pwd=values.get("ice-pwd"),
        fingerprints=tuple(fingerprints),
        setup=cast("Setup | None", values.get("setup")),  # checked when it was read
    )


class _Parser:
    """Reads the lines in order: session-level ones, then one :class:`_MediaParser` per ``m=``."""

    def __init__(self) -> None:
        self.origin: Origin | None = None
        self.version_seen = False
        self.groups: list[Group] = []
        self.transport: dict[str, str] = {}
        self.fingerprints: list[Fingerprint] = []
        self.extmap_allow_mixed = False
        self.direction: Direction | None = None
        self.media: list[_MediaParser] = []

    def feed(self, number: int, line: str) -> None:
        check_text(line, "the line", MAX_LINE_LENGTH)
        if len(line) < 2 or line[1] != "=":
            raise InvalidArgument("not a <type>=<value> line")
        kind, value = line[0], line[2:]
        if not self.version_seen:
            if line != "v=0":
                raise InvalidArgument("an SDP starts with v=0")
            self.version_seen = True
        elif kind == "o":
            self.origin = _origin(value)
        elif kind == "m":
            self.media.append(_media_line(number, value))
            check_count(self.media, MAX_MEDIA, "media sections")
        elif kind == "c" and self.media:
            self.media[-1].connection = check_text(value, "a connection line", 256)
        elif kind == "a":
            name, _, attribute_value = value.partition(":")
            if self.media:
                _media_attribute(self.media[-1], name, attribute_value)
            else:
                self._session_attribute(name, attribute_value)
        elif kind == "v":
            raise InvalidArgument("v= appears twice")

    def _session_attribute(self, name: str, value: str) -> None:
        if name == "group":
            semantics, *mids = value.split(" ")
            self.groups.append(Group(semantics, tuple(mids)))
        elif name == "extmap-allow-mixed":
            self.extmap_allow_mixed = True
        elif name in DIRECTIONS:
            self.direction = name
        elif not _transport_attribute(self.transport, self.fingerprints, name, value):
            check_text(name, "an attribute name", 64)

    def finish(self) -> SessionDescription:
        if self.origin is None:
            raise InvalidArgument("the SDP has no o= line")
        if not self.media:
            raise InvalidArgument("the SDP has no media section")
        media = []
        for section in self.media:
            try:
                media.append(section.build(self.direction))
            except InvalidArgument as exc:
                raise InvalidArgument(f"SDP line {section.number}: {exc.message}") from None
        return SessionDescription(
            media=tuple(media),
            origin=self.origin,
            groups=tuple(self.groups),
            transport=_transport(self.transport, self.fingerprints),
            extmap_allow_mixed=self.extmap_allow_mixed,
        )


def _origin(value: str) -> Origin:
    fields = value.split(" ")
    if len(fields) != 6:
        raise InvalidArgument("o= has not 6 fields")
    return Origin(*fields)


def _media_line(number: int, value: str) -> _MediaParser:
    """``m=<kind> <port>[/<count>] <protocol> <format>…``"""
    kind, port, protocol, formats = _split(value, 4, "m=")
    if kind not in ("audio", "video"):
        raise InvalidArgument("only audio and video media are supported")
    numbers = formats.split(" ")
    check_count(numbers, MAX_PAYLOAD_TYPES, "payload types")
    payloads = [parse_int(text, 0, 127, "a payload type") for text in numbers]
    if len(set(payloads)) != len(payloads):
        raise InvalidArgument("a payload type appears twice on the m= line")
    return _MediaParser(
        number=number,
        kind=kind,  # type: ignore[arg-type]
        port=parse_int(port.partition("/")[0], 0, 65535, "the media port"),
        protocol=check_text(protocol, "the media protocol", 64),
        formats=payloads,
    )


def _transport_attribute(values: dict[str, str], fingerprints: list[Fingerprint], name: str, value: str) -> bool:
    """Record an ICE or DTLS attribute; False when ``name`` is none of them."""
    if name in ("ice-ufrag", "ice-pwd"):
        values[name] = check_ice_credential(value, 4 if name == "ice-ufrag" else 22, f"a={name}")
    elif name == "setup":
        if value not in SETUPS:
            raise InvalidArgument("a=setup is not actpass, active nor passive")
        values[name] = value
    elif name == "fingerprint":
        hash_function, fingerprint = _split(value, 2, "a=fingerprint")
        fingerprints.append(Fingerprint(hash_function, fingerprint))
        check_count(fingerprints, MAX_FINGERPRINTS, "fingerprints")
    else:
        return False
    return True


def _media_attribute(media: _MediaParser, name: str, value: str) -> None:
    """Record one ``a=`` line of a media section; unknown ones are left out."""
    if name == "mid":
        if media.mid is not None:
            raise InvalidArgument("a=mid appears twice")
        media.mid = check_token(value, "a=mid")
    elif name in DIRECTIONS:
        media.direction = name
    elif name == "rtcp-mux":
        media.rtcp_mux = True
    elif name == "extmap-allow-mixed":
        media.extmap_allow_mixed = True
    elif name == "end-of-candidates":
        media.end_of_candidates = True
    elif name == "rtpmap":
        _rtpmap(media, value)
    elif name == "fmtp":
        _fmtp(media, value)
    elif name == "rtcp-fb":
        _rtcp_fb(media, value)
    elif name == "extmap":
        _extmap(media, value)
    elif name == "ssrc":
        _ssrc(media, value)
    elif name == "ssrc-group":
        semantics, *ssrcs = value.split(" ")
        media.source_groups.append(
            SourceGroup(semantics, tuple(parse_int(ssrc, 0, 4_294_967_295, "an ssrc") for ssrc in ssrcs))
        )
    elif name == "candidate":
        media.candidates.append(parse_candidate(value))
        check_count(media.candidates, MAX_CANDIDATES, "candidates in one media section")
    elif not _transport_attribute(media.transport, media.fingerprints, name, value):
        check_text(name, "an attribute name", 64)


def _rtpmap(media: _MediaParser, value: str) -> None:
    """``a=rtpmap:<pt> <name>/<clock rate>[/<channels>]``"""
    payload, encoding = _split(value, 2, "a=rtpmap")
    number = int(media.payload(payload))
    if number in media.rtpmaps:
        raise InvalidArgument("a=rtpmap appears twice for one payload type")
    parts = encoding.split("/")
    if len(parts) not in (2, 3):
        raise InvalidArgument("a=rtpmap is not <name>/<clock rate>[/<channels>]")
    channels = parse_int(parts[2], 1, 255, "a channel count") if len(parts) == 3 else None
    media.rtpmaps[number] = (check_token(parts[0], "a codec name"), parse_int(parts[1], 1, 4_294_967_295, "a clock rate"), channels)


def _fmtp(media: _MediaParser, value: str) -> None:
    """``a=fmtp:<pt> <name>=<value>;…`` (a bare word is a parameter without value)."""
    payload, text = _split(value, 2, "a=fmtp")
    number = int(media.payload(payload))
    if number in media.fmtps:
        raise InvalidArgument("a=fmtp appears twice for one payload type")
    parts = [part.strip() for part in text.split(";") if part.strip()]
    if not parts:
        raise InvalidArgument("a=fmtp has no parameter")
    check_count(parts, MAX_PARAMETERS, "fmtp parameters")
    media.fmtps[number] = tuple(_parameter(part, "=") for part in parts)
    check_unique((parameter.name for parameter in media.fmtps[number]), "an fmtp parameter")


def _rtcp_fb(media: _MediaParser, value: str) -> None:
    """``a=rtcp-fb:<pt or *> <type> [<subtype> [<parameter>…]]``, ``trr-int <ms>`` apart."""
    payload, *words = value.split(" ")
    target = media.payload(payload, wildcard=True)
    if not words or not words[0]:
        raise InvalidArgument("a=rtcp-fb has no feedback type")
    if words[0] == "trr-int":
        if len(words) != 2:
            raise InvalidArgument("a=rtcp-fb trr-int takes one value")
        media.trr_ints[target] = parse_int(words[1], 0, 4_294_967_295, "trr-int")
        return
    subtype = words[1] if len(words) > 1 else None
    feedback = media.feedback.setdefault(target, [])
    feedback.append(RtcpFeedback(words[0], subtype, _parameters(words[2:])))
    check_count(feedback, MAX_FEEDBACK, "rtcp-fb lines for one payload type")


def _extmap(media: _MediaParser, value: str) -> None:
    """``a=extmap:<id>[/<direction>] <uri> [<attribute>…]``"""
    key, rest = _split(value, 2, "a=extmap")
    uri, *extras = rest.split(" ")
    number, _, direction = key.partition("/")
    if direction and direction not in DIRECTIONS:
        raise InvalidArgument("the extmap direction is unknown")
    media.extensions.append(
        HeaderExtension(
            id=parse_int(number, 1, 4351, "an extmap id"),
            uri=uri,
            direction=direction or None,
            parameters=_parameters(extras),
        )
    )


def _ssrc(media: _MediaParser, value: str) -> None:
    """``a=ssrc:<ssrc> <attribute>[:<value>]``: the attributes of one ssrc, gathered."""
    ssrc, attribute = _split(value, 2, "a=ssrc")
    number = parse_int(ssrc, 0, 4_294_967_295, "an ssrc")
    parameters = media.sources.setdefault(number, [])
    parameters.append(_parameter(attribute, ":"))
    check_count(parameters, MAX_PARAMETERS, "attributes of one ssrc")
    check_count(media.sources, MAX_SOURCES, "ssrcs")

