"""The typed session description a call negotiates, whichever way it travels.

SDP text (from a frontend) and Jingle XML (from a peer) are both untrusted: every value
is checked here, when the dataclass is built, so that one set of rules guards both
conversions. A value that passes cannot break an SDP line (no control character, no
line break), cannot break a stanza (:func:`~sat_bridge.xml_text.check_xml_text`), and
is bounded in length; lists are bounded in count. Error messages name the field, never
the value (it may be huge).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Literal, Sized

from sat_backend.core.exceptions import InvalidArgument
from sat_bridge.xml_text import check_xml_text

#: whole SDP text, in characters: a WebRTC offer with many candidates is ~15,000
MAX_SDP_LENGTH = 100_000
MAX_LINES = 2_000
MAX_LINE_LENGTH = 1_024
MAX_MEDIA = 32
#: the whole dynamic and static RTP payload type space (0-127)
MAX_PAYLOAD_TYPES = 128
MAX_CANDIDATES = 100
MAX_PARAMETERS = 32
MAX_FEEDBACK = 16
MAX_HEADER_EXTENSIONS = 32
MAX_SOURCES = 64
MAX_SOURCE_GROUPS = 32
MAX_FINGERPRINTS = 4
MAX_GROUPS = 4

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
DIRECTIONS: tuple[Direction, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")
MediaKind = Literal["audio", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("audio", "video")
Setup = Literal["actpass", "active", "passive"]
#: XEP-0320 maps no ``holdconn``
SETUPS: tuple[Setup, ...] = ("actpass", "active", "passive")
CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")
CANDIDATE_PROTOCOLS = ("udp", "tcp")

#: RFC 8866 ``token``
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
#: RFC 8839 ``ice-char``
_ICE_CHARS = re.compile(r"[A-Za-z0-9+/]+")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){0,63}")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*")
#: a parameter name: visible, and none of the separators of the lines it is written in
_PARAMETER_NAME = re.compile(r"[^\s;=:]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,20}")


def check_text(value: str, what: str, limit: int = MAX_LINE_LENGTH) -> str:
    """``value`` if it fits on one SDP line and in a stanza: bounded, no control character
    (so no line break), nothing XML forbids.

    :raises InvalidArgument: names ``what``, never the value.
    """
    check_xml_text(value, what)
    if len(value) > limit:
        raise InvalidArgument(f"{what} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise InvalidArgument(f"{what} contains a control character")
    return value


def check_token(value: str, what: str) -> str:
    """``value`` if it is a non-empty RFC 8866 token (no space, no separator)."""
    check_text(value, what, 256)
    if not _TOKEN.fullmatch(value):
        raise InvalidArgument(f"{what} is not an SDP token")
    return value


def check_int(value: int, low: int, high: int, what: str) -> int:
    """``value`` if it lies in ``[low, high]``."""
    if not low <= value <= high:
        raise InvalidArgument(f"{what} is out of range ({low} to {high})")
    return value


def parse_int(text: str, low: int, high: int, what: str) -> int:
    """A decimal number written with digits only (no sign, no space), in ``[low, high]``."""
    if not _DIGITS.fullmatch(text):
        raise InvalidArgument(f"{what} is not a number")
    return check_int(int(text), low, high, what)


def check_count(items: Sized, limit: int, what: str) -> None:
    """Refuse more than ``limit`` items."""
    if len(items) > limit:
        raise InvalidArgument(f"more than {limit} {what}")


def check_unique(keys: Iterable[object], what: str) -> None:
    """Refuse a key seen twice (two payload types with one id, two media with one mid…)."""
    seen: set[object] = set()
    for key in keys:
        if key in seen:
            raise InvalidArgument(f"{what} appears twice")
        seen.add(key)


def check_ice_credential(value: str, low: int, what: str) -> str:
    """An ICE ufrag (4 characters at least) or pwd (22 at least), RFC 8839 ``ice-char`` only."""
    check_text(value, what, 256)
    if len(value) < low or not _ICE_CHARS.fullmatch(value):
        raise InvalidArgument(f"{what} is not a valid ICE credential")
    return value


def check_address(value: str, what: str) -> str:
    """An IP address, or a host name (browsers hide local addresses behind mDNS names)."""
    check_text(value, what, 253)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOSTNAME.fullmatch(value):
            raise InvalidArgument(f"{what} is neither an IP address nor a host name") from None
    return value


@dataclass(frozen=True)
class Parameter:
    """A ``name[=value]`` pair: fmtp (XEP-0167), ssrc (XEP-0339), rtcp-fb (XEP-0293) and
    extmap (XEP-0294) parameters. ``value`` None: a bare name (``0-15`` of telephone-event)."""

    name: str
    value: str | None = None

    def __post_init__(self) -> None:
        check_text(self.name, "a parameter name", 256)
        if not _PARAMETER_NAME.fullmatch(self.name):
            raise InvalidArgument("a parameter name contains a space or a separator")
        if self.value is not None:
            check_text(self.value, "a parameter value")
            if ";" in self.value:
                raise InvalidArgument("a parameter value contains a separator")


@dataclass(frozen=True)
class RtcpFeedback:
    """``a=rtcp-fb`` (XEP-0293 ``<rtcp-fb/>``), for one payload type or the whole media."""

    type: str
    subtype: str | None = None
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        check_token(self.type, "an rtcp-fb type")
        if self.subtype is not None:
            check_token(self.subtype, "an rtcp-fb subtype")
        check_count(self.parameters, MAX_PARAMETERS, "rtcp-fb parameters")


@dataclass(frozen=True)
class PayloadType:
    """A codec of a media section: ``a=rtpmap``/``a=fmtp``/``a=rtcp-fb`` of one payload type
    (XEP-0167 ``<payload-type/>``). ``name`` "" and ``clockrate`` None for a static type
    given without ``a=rtpmap``; ``channels`` None when not written (1)."""

    id: int
    name: str = ""
    clockrate: int | None = None
    channels: int | None = None
    parameters: tuple[Parameter, ...] = ()
    feedback: tuple[RtcpFeedback, ...] = ()
    trr_int: int | None = None

    def __post_init__(self) -> None:
        check_int(self.id, 0, 127, "a payload type")
        if self.name:
            check_token(self.name, "a codec name")
        if self.clockrate is not None:
            check_int(self.clockrate, 1, 4_294_967_295, "a clock rate")
        if self.channels is not None:
            check_int(self.channels, 1, 255, "a channel count")
        check_count(self.parameters, MAX_PARAMETERS, "fmtp parameters")
        check_unique((parameter.name for parameter in self.parameters), "an fmtp parameter")
        check_count(self.feedback, MAX_FEEDBACK, "rtcp-fb lines for one payload type")
        if self.trr_int is not None:
            check_int(self.trr_int, 0, 4_294_967_295, "trr-int")


@dataclass(frozen=True)
class HeaderExtension:
    """``a=extmap`` (XEP-0294 ``<rtp-hdrext/>``); ``direction`` None when not written."""

    id: int
    uri: str
    direction: Direction | None = None
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        check_int(self.id, 1, 4351, "an extmap id")
        if 256 < self.id < 4096:
            raise InvalidArgument("an extmap id is out of range (1 to 256, 4096 to 4351)")
        check_text(self.uri, "an extmap URI")
        if not self.uri or any(character.isspace() for character in self.uri):
            raise InvalidArgument("an extmap URI is empty or contains a space")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise InvalidArgument("an extmap direction is unknown")
        check_count(self.parameters, MAX_PARAMETERS, "extmap parameters")


@dataclass(frozen=True)
class Source:
    """The ``a=ssrc`` lines of one synchronisation source (XEP-0339 ``<source/>``)."""

    ssrc: int
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        check_int(self.ssrc, 0, 4_294_967_295, "an ssrc")
        check_count(self.parameters, MAX_PARAMETERS, "attributes of one ssrc")


@dataclass(frozen=True)
class SourceGroup:
    """``a=ssrc-group`` (XEP-0339 ``<ssrc-group/>``): ``FID 1 2`` pairs a source and its
    retransmissions."""

    semantics: str
    ssrcs: tuple[int, ...]

    def __post_init__(self) -> None:
        check_token(self.semantics, "ssrc-group semantics")
        if not self.ssrcs:
            raise InvalidArgument("an ssrc-group lists no ssrc")
        check_count(self.ssrcs, MAX_SOURCES, "ssrcs in one ssrc-group")
        for ssrc in self.ssrcs:
            check_int(ssrc, 0, 4_294_967_295, "an ssrc")


@dataclass(frozen=True)
class Fingerprint:
    """``a=fingerprint`` (XEP-0320 ``<fingerprint/>``): the DTLS certificate's hash."""

    hash: str
    value: str

    def __post_init__(self) -> None:
        check_token(self.hash, "a fingerprint hash function")
        if not _FINGERPRINT.fullmatch(self.value):
            raise InvalidArgument("a fingerprint is not colon-separated hexadecimal bytes")


@dataclass(frozen=True)
class Candidate:
    """An ICE candidate, ``a=candidate`` (RFC 8839) or XEP-0176 ``<candidate/>``.

    ``id`` is Jingle's (SDP has none: one is derived when the XML is built);
    ``network`` is the ``network-id`` extension, ``generation`` the ``generation`` one.
    """

    foundation: str
    component: int
    protocol: str
    priority: int
    address: str
    port: int
    type: str
    related_address: str | None = None
    related_port: int | None = None
    generation: int | None = None
    network: int | None = None
    tcp_type: str | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        check_text(self.foundation, "a candidate foundation", 32)
        if not _ICE_CHARS.fullmatch(self.foundation):
            raise InvalidArgument("a candidate foundation is not made of ICE characters")
        check_int(self.component, 1, 256, "a candidate component")
        if self.protocol not in CANDIDATE_PROTOCOLS:
            raise InvalidArgument("a candidate transport is neither udp nor tcp")
        check_int(self.priority, 0, 4_294_967_295, "a candidate priority")
        check_address(self.address, "a candidate address")
        check_int(self.port, 0, 65535, "a candidate port")
        if self.type not in CANDIDATE_TYPES:
            raise InvalidArgument("a candidate type is unknown")
        if self.related_address is not None:
            check_address(self.related_address, "a candidate related address")
        if self.related_port is not None:
            check_int(self.related_port, 0, 65535, "a candidate related port")
        for number, what in ((self.generation, "generation"), (self.network, "network id")):
            if number is not None:
                check_int(number, 0, 4_294_967_295, f"a candidate {what}")
        if self.tcp_type is not None:
            check_token(self.tcp_type, "a candidate tcptype")
        if self.id is not None:
            check_token(self.id, "a candidate id")


@dataclass(frozen=True)
class Transport:
    """ICE credentials and DTLS fingerprint of one media section (or of the session, as
    defaults): ``a=ice-ufrag``, ``a=ice-pwd``, ``a=fingerprint``, ``a=setup``."""

    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    fingerprints: tuple[Fingerprint, ...] = ()
    setup: Setup | None = None

    def __post_init__(self) -> None:
        if self.ice_ufrag is not None:
            check_ice_credential(self.ice_ufrag, 4, "ice-ufrag")
        if self.ice_pwd is not None:
            check_ice_credential(self.ice_pwd, 22, "ice-pwd")
        check_count(self.fingerprints, MAX_FINGERPRINTS, "fingerprints")
        if self.setup is not None and self.setup not in SETUPS:
            raise InvalidArgument("setup is not actpass, active nor passive")

    def over(self, defaults: Transport) -> Transport:
        """This transport, with what it leaves out taken from ``defaults`` (the session's)."""
        return Transport(
            ice_ufrag=self.ice_ufrag if self.ice_ufrag is not None else defaults.ice_ufrag,
            ice_pwd=self.ice_pwd if self.ice_pwd is not None else defaults.ice_pwd,
            fingerprints=self.fingerprints or defaults.fingerprints,
            setup=self.setup if self.setup is not None else defaults.setup,
        )


@dataclass(frozen=True)
class Media:
    """One media section (``m=`` and what follows it); a Jingle ``<content/>`` whose name is
    the ``mid``. ``port`` 0: rejected (in an answer)."""

    kind: MediaKind
    mid: str
    port: int
    protocol: str
    payload_types: tuple[PayloadType, ...]
    direction: Direction = "sendrecv"
    rtcp_mux: bool = False
    header_extensions: tuple[HeaderExtension, ...] = ()
    extmap_allow_mixed: bool = False
    feedback: tuple[RtcpFeedback, ...] = ()
    trr_int: int | None = None
    sources: tuple[Source, ...] = ()
    source_groups: tuple[SourceGroup, ...] = ()
    transport: Transport = Transport()
    candidates: tuple[Candidate, ...] = ()
    end_of_candidates: bool = False
    #: ``c=`` as written (``IN IP4 0.0.0.0``), None when absent
    connection: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MEDIA_KINDS:
            raise InvalidArgument("only audio and video media are supported")
        check_token(self.mid, "a mid")
        check_int(self.port, 0, 65535, "a media port")
        check_text(self.protocol, "a media protocol", 64)
        if not self.protocol or not all(_TOKEN.fullmatch(part) for part in self.protocol.split("/")):
            raise InvalidArgument("a media protocol is not made of SDP tokens")
        if not self.payload_types:
            raise InvalidArgument("a media section has no payload type")
        check_count(self.payload_types, MAX_PAYLOAD_TYPES, "payload types")
        check_unique((payload.id for payload in self.payload_types), "a payload type")
        if self.direction not in DIRECTIONS:
            raise InvalidArgument("a media direction is unknown")
        check_count(self.header_extensions, MAX_HEADER_EXTENSIONS, "extmap lines")
        check_unique((extension.id for extension in self.header_extensions), "an extmap id")
        check_count(self.feedback, MAX_FEEDBACK, "rtcp-fb lines for all payload types")
        check_count(self.sources, MAX_SOURCES, "ssrcs")
        check_unique((source.ssrc for source in self.sources), "an ssrc")
        check_count(self.source_groups, MAX_SOURCE_GROUPS, "ssrc-groups")
        check_count(self.candidates, MAX_CANDIDATES, "candidates in one media section")
        if self.connection is not None:
            check_text(self.connection, "a connection line", 256)


@dataclass(frozen=True)
class Origin:
    """``o=``: Jingle does not carry it, a description built from XML gets a neutral one."""

    username: str = "-"
    session_id: str = "0"
    session_version: str = "0"
    network_type: str = "IN"
    address_type: str = "IP4"
    address: str = "0.0.0.0"

    def __post_init__(self) -> None:
        check_token(self.username, "the origin username")
        for number, what in ((self.session_id, "session id"), (self.session_version, "session version")):
            if not _DIGITS.fullmatch(number):
                raise InvalidArgument(f"the origin {what} is not a number")
        check_token(self.network_type, "the origin network type")
        check_token(self.address_type, "the origin address type")
        check_address(self.address, "the origin address")


@dataclass(frozen=True)
class Group:
    """``a=group`` (RFC 5888, XEP-0338 ``<group/>``): ``BUNDLE 0 1`` in the listed order."""

    semantics: str
    mids: tuple[str, ...]

    def __post_init__(self) -> None:
        check_token(self.semantics, "group semantics")
        check_count(self.mids, MAX_MEDIA, "mids in a group")
        for mid in self.mids:
            check_token(mid, "a grouped mid")
        check_unique(self.mids, "a grouped mid")


@dataclass(frozen=True)
class SessionDescription:
    """A whole offer or answer: session-level defaults, then the media sections in order."""

    media: tuple[Media, ...]
    origin: Origin = Origin()
    groups: tuple[Group, ...] = ()
    transport: Transport = Transport()
    extmap_allow_mixed: bool = False

    def __post_init__(self) -> None:
        if not self.media:
            raise InvalidArgument("the session description has no media section")
        check_count(self.media, MAX_MEDIA, "media sections")
        check_unique((media.mid for media in self.media), "a mid")
        check_count(self.groups, MAX_GROUPS, "groups")
        mids = {media.mid for media in self.media}
        for group in self.groups:
            if not set(group.mids) <= mids:
                raise InvalidArgument(f"the {group.semantics} group names a mid no media section has")

    @property
    def mids(self) -> tuple[str, ...]:
        """The mids, in the order of the media sections."""
        return tuple(media.mid for media in self.media)

    def group(self, semantics: str) -> Group | None:
        """The group with these semantics (``BUNDLE``), if any."""
        return next((group for group in self.groups if group.semantics == semantics), None)
