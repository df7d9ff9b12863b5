"""ICE candidates as SDP writes them (RFC 8839 §5.1 ``a=candidate``), alone because
trickle ICE sends them one by one, outside any whole description. Of the extensions, only
``generation``, ``network-id`` and ``tcptype`` are kept: Jingle has nowhere to put the others
(``ufrag`` repeats the media's, ``network-cost`` is a hint)."""

from __future__ import annotations

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.model import Candidate, check_text, parse_int

_PREFIX = "candidate:"


def parse_candidate(text: str) -> Candidate:
    """A candidate from ``candidate:1 1 udp 2130706431 192.0.2.1 3478 typ host …`` (the
    ``candidate:`` prefix is optional, as in WebRTC's ``RTCIceCandidate.candidate``).

    :raises InvalidArgument: a missing or malformed field (named, the text never echoed).
    """
    check_text(text, "a candidate")
    if text.startswith(_PREFIX):
        text = text[len(_PREFIX) :]
    fields = text.split()
    if len(fields) < 8 or fields[6] != "typ":
        raise InvalidArgument("a candidate lacks a field (foundation component transport priority address port typ type)")
    extensions = fields[8:]
    if len(extensions) % 2:
        raise InvalidArgument("a candidate extension has no value")
    pairs = dict(zip(extensions[::2], extensions[1::2]))
    return Candidate(
        foundation=fields[0],
        component=parse_int(fields[1], 1, 256, "a candidate component"),
        protocol=fields[2].lower(),
        priority=parse_int(fields[3], 0, 4_294_967_295, "a candidate priority"),
        address=fields[4],
        port=parse_int(fields[5], 0, 65535, "a candidate port"),
        type=fields[7],
        related_address=pairs.get("raddr"),
        related_port=_optional_int(pairs.get("rport"), 65535, "a candidate related port"),
        generation=_optional_int(pairs.get("generation"), 4_294_967_295, "a candidate generation"),
        network=_optional_int(pairs.get("network-id"), 4_294_967_295, "a candidate network id"),
        tcp_type=pairs.get("tcptype"),
    )


def candidate_attribute(candidate: Candidate) -> str:
    """The ``candidate:…`` attribute value (without ``a=``)."""
    fields = [
        f"{_PREFIX}{candidate.foundation}",
        str(candidate.component),
        candidate.protocol,
        str(candidate.priority),
        candidate.address,
        str(candidate.port),
        "typ",
        candidate.type,
    ]
    if candidate.related_address is not None:
        fields += ["raddr", candidate.related_address]
    if candidate.related_port is not None:
        fields += ["rport", str(candidate.related_port)]
    if candidate.tcp_type is not None:
        fields += ["tcptype", candidate.tcp_type]
    if candidate.generation is not None:
        fields += ["generation", str(candidate.generation)]
    if candidate.network is not None:
        fields += ["network-id", str(candidate.network)]
    return " ".join(fields)


def _optional_int(text: str | None, high: int, what: str) -> int | None:
    return None if text is None else parse_int(text, 0, high, what)
