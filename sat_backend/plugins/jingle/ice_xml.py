"""The ICE-UDP ``<transport/>`` of a Jingle content, to and from ICE credentials, DTLS
fingerprints and candidates.

Implements XEP-0176 Jingle ICE-UDP Transport Method 1.1.1 (``ufrag``, ``pwd``,
``<candidate/>``) and XEP-0320 Use of DTLS-SRTP in Jingle Sessions 1.0.0
(``<fingerprint hash='…' setup='…'>``). XEP-0176 carries UDP candidates only: ICE-TCP
candidates of an SDP are left out of the XML. SDP has no candidate ``id`` and XEP-0176
requires one: it is derived from the candidate and its mid, so the same candidate always
gets the same id; ``generation`` is required too, 0 when the SDP leaves it out.
"""

from __future__ import annotations

import hashlib

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.candidates import candidate_attribute
from sat_backend.plugins.jingle.model import (
    MAX_CANDIDATES,
    MAX_FINGERPRINTS,
    Candidate,
    Fingerprint,
    Transport,
)
from sat_backend.plugins.jingle.namespaces import NS_JINGLE_DTLS, NS_JINGLE_ICE_UDP
from sat_backend.plugins.jingle.xml_reading import children, number, optional, optional_number, required, text_of

_UINT32 = 4_294_967_295


def build_transport(transport: Transport, candidates: tuple[Candidate, ...], mid: str) -> domish.Element:
    """``<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>`` with the UDP candidates."""
    element = domish.Element((NS_JINGLE_ICE_UDP, "transport"))
    if transport.ice_ufrag is not None:
        element["ufrag"] = transport.ice_ufrag
    if transport.ice_pwd is not None:
        element["pwd"] = transport.ice_pwd
    for fingerprint in transport.fingerprints:
        child = element.addElement((NS_JINGLE_DTLS, "fingerprint"), content=fingerprint.value)
        child["hash"] = fingerprint.hash
        if transport.setup is not None:
            child["setup"] = transport.setup
    for candidate in candidates:
        if candidate.protocol == "udp":
            element.addChild(build_candidate(candidate, mid))
    return element


def build_candidate(candidate: Candidate, mid: str) -> domish.Element:
    """One XEP-0176 ``<candidate/>`` (for a transport-info too)."""
    element = domish.Element((NS_JINGLE_ICE_UDP, "candidate"))
    element["component"] = str(candidate.component)
    element["foundation"] = candidate.foundation
    element["generation"] = str(candidate.generation or 0)
    element["id"] = candidate.id or candidate_id(candidate, mid)
    element["ip"] = candidate.address
    if candidate.network is not None:
        element["network"] = str(candidate.network)
    element["port"] = str(candidate.port)
    element["priority"] = str(candidate.priority)
    element["protocol"] = candidate.protocol
    if candidate.related_address is not None:
        element["rel-addr"] = candidate.related_address
    if candidate.related_port is not None:
        element["rel-port"] = str(candidate.related_port)
    element["type"] = candidate.type
    return element


def candidate_id(candidate: Candidate, mid: str) -> str:
    """A stable id for a candidate SDP gives without one: 10 hex digits of its hash."""
    return hashlib.sha256(f"{mid} {candidate_attribute(candidate)}".encode()).hexdigest()[:10]


def parse_transport(element: domish.Element) -> tuple[Transport, tuple[Candidate, ...]]:
    """Credentials, fingerprints (with their setup role) and candidates of a ``<transport/>``.

    :raises InvalidArgument: a missing or malformed attribute, too many children, or
        fingerprints disagreeing on the setup role.
    """
    fingerprints = children(element, NS_JINGLE_DTLS, "fingerprint", MAX_FINGERPRINTS)
    setups = {optional(fingerprint, "setup") for fingerprint in fingerprints}
    if len(setups) > 1:
        raise InvalidArgument("the <fingerprint/> elements disagree on setup")
    transport = Transport(
        ice_ufrag=optional(element, "ufrag"),
        ice_pwd=optional(element, "pwd"),
        fingerprints=tuple(Fingerprint(required(item, "hash"), text_of(item, 256)) for item in fingerprints),
        setup=setups.pop() if setups else None,  # type: ignore[arg-type]
    )
    candidates = tuple(parse_candidate_element(item) for item in children(element, NS_JINGLE_ICE_UDP, "candidate", MAX_CANDIDATES))
    return transport, candidates


def parse_candidate_element(element: domish.Element) -> Candidate:
    """One XEP-0176 ``<candidate/>``.

    :raises InvalidArgument: a missing or malformed attribute, a protocol other than udp.
    """
    if required(element, "protocol").lower() != "udp":
        raise InvalidArgument("an ICE-UDP <candidate/> protocol is not udp")
    return Candidate(
        foundation=required(element, "foundation"),
        component=number(element, "component", 256, low=1),
        protocol="udp",
        priority=number(element, "priority", _UINT32),
        address=required(element, "ip"),
        port=number(element, "port", 65535),
        type=required(element, "type"),
        related_address=optional(element, "rel-addr"),
        related_port=optional_number(element, "rel-port", 65535),
        generation=optional_number(element, "generation", _UINT32),
        network=optional_number(element, "network", _UINT32),
        id=required(element, "id"),
    )
