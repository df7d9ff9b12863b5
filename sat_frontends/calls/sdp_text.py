"""SDP text as the media engine hands it to the bridge: candidates taken out to be
trickled (XEP-0176 via ``CallCandidatesAdd``), and the media order read back for display
and checks. Pure functions on text, no aiortc, so they are unit tested on their own."""

from __future__ import annotations

#: the attribute whose lines are trickled rather than sent in the description
CANDIDATE_PREFIX = "a=candidate:"
#: lines that only make sense next to the candidates they end
END_OF_CANDIDATES = "a=end-of-candidates"


def _lines(sdp: str) -> list[str]:
    return [line for line in sdp.replace("\r\n", "\n").split("\n") if line]


def split_candidates(sdp: str) -> tuple[str, dict[str, list[str]]]:
    """``sdp`` without its ICE candidates, and those candidates by mid.

    A candidate before any ``a=mid`` line (session level, or a section without mid) is
    given to the section's index as text, the way WebRTC names an unlabelled section.

    :returns: (the SDP with CRLF line ends, ``{mid: ["candidate:…", …]}`` in SDP order)
    """
    kept: list[str] = []
    found: dict[str, list[str]] = {}
    section_candidates: list[str] = []
    section_index = -1
    mid: str | None = None

    def close_section() -> None:
        if section_candidates:
            key = mid if mid is not None else str(max(section_index, 0))
            found.setdefault(key, []).extend(section_candidates)
            section_candidates.clear()

    for line in _lines(sdp):
        if line.startswith("m="):
            close_section()
            section_index += 1
            mid = None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:"):].strip()
        if line.startswith(CANDIDATE_PREFIX):
            section_candidates.append(line[2:])
            continue
        if line == END_OF_CANDIDATES:
            continue
        kept.append(line)
    close_section()
    return "\r\n".join(kept) + "\r\n", found


def media_kinds(sdp: str) -> list[str]:
    """The kinds of the ``m=`` lines (``audio``, ``video``…), in their order."""
    return [line[2:].split(" ", 1)[0] for line in _lines(sdp) if line.startswith("m=")]


def bundle_mids(sdp: str) -> list[str]:
    """The mids of the ``a=group:BUNDLE`` line, in its order (empty without one)."""
    for line in _lines(sdp):
        if line.startswith("a=group:BUNDLE"):
            return line.split()[1:]
    return []


def section_mids(sdp: str) -> list[str]:
    """The ``a=mid`` of each media section, in order."""
    return [line[len("a=mid:"):].strip() for line in _lines(sdp) if line.startswith("a=mid:")]


def strip_prefix(candidate: str) -> str:
    """An RFC 8839 candidate value without its optional ``candidate:`` prefix."""
    return candidate[len("candidate:"):] if candidate.startswith("candidate:") else candidate
