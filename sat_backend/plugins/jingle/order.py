"""The order of the media sections, kept end to end (issue 13's rule).

An SDP answer has exactly the offer's media sections, in the offer's order (RFC 3264
§6), and BUNDLE breaks when one side reorders them. A Jingle session-accept has a content
per accepted section, and a peer may list them in any order or leave rejected ones out.
:func:`answer_in_offer_order` puts an answer (from a frontend's SDP or from a peer's
session-accept) back in the offer's order, with a rejected section (port 0) where a
content is missing, and its groups' mids in the offer's order too.
"""

from __future__ import annotations

from dataclasses import replace

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.model import Group, Media, PayloadType, SessionDescription


def answer_in_offer_order(offer: SessionDescription, answer: SessionDescription) -> SessionDescription:
    """``answer`` with its media sections in the order of ``offer``'s.

    :raises InvalidArgument: the answer has a mid the offer does not have, or answers a
        section with another kind of media.
    """
    answered = {media.mid: media for media in answer.media}
    offered = {media.mid: media for media in offer.media}
    if not set(answered) <= set(offered):
        raise InvalidArgument("the answer has a media section the offer does not have")
    media = []
    for offered_media in offer.media:
        answered_media = answered.get(offered_media.mid)
        if answered_media is None:
            media.append(rejected(offered_media))
        elif answered_media.kind != offered_media.kind:
            raise InvalidArgument("the answer changes the kind of an offered media section")
        else:
            media.append(answered_media)
    position = {mid: index for index, mid in enumerate(offer.mids)}
    groups = tuple(Group(group.semantics, tuple(sorted(group.mids, key=position.__getitem__))) for group in answer.groups)
    return replace(answer, media=tuple(media), groups=groups)


def rejected(offered: Media) -> Media:
    """The answer's section for an offered one it rejects: port 0, inactive, the first
    offered format (an ``m=`` line needs one), nothing else (RFC 3264 §6)."""
    first = offered.payload_types[0]
    return Media(
        kind=offered.kind,
        mid=offered.mid,
        port=0,
        protocol=offered.protocol,
        payload_types=(PayloadType(first.id, first.name, first.clockrate, first.channels),),
        direction="inactive",
        connection=offered.connection,
    )

