"""The WebRTC side of one call: an aiortc peer connection that makes or answers an SDP
offer in a given media order, takes trickled candidates, and reports what happens.

The bridge never sees aiortc: this module speaks SDP text and candidate strings, and
:mod:`sat_frontends.calls.driver` carries them through the bridge."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from sat_frontends.calls.media import MediaSinks, MediaSources
from sat_frontends.calls.sdp_text import split_candidates, strip_prefix

log = logging.getLogger(__name__)

#: called with an event name and its fields (see ``doc/calls.rst``)
EventSink = Callable[..., None]
#: candidates a peer may trickle to us in one call, as the backend bounds what it relays
MAX_REMOTE_CANDIDATES = 200


def restrict_host_addresses(address: str) -> None:
    """Gather host candidates on ``address`` only (e.g. ``127.0.0.1`` on a test machine).

    aioice gathers on every interface but loopback and has no option to choose: its
    module function is replaced, for the whole process (a CLI call is one process).

    :raises ValueError: ``address`` is not an IP address.
    """
    ipaddress.ip_address(address)
    if not callable(getattr(aioice.ice, "get_host_addresses", None)):
        raise RuntimeError("this aioice version gathers candidates differently: --host-address is not supported")

    def only_this(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [address]

    aioice.ice.get_host_addresses = only_this


class MediaEngine:
    """One aiortc peer connection with its sources and sinks.

    ``ice_servers``: the STUN/TURN servers of the user's server
    (:mod:`sat_frontends.calls.ice_servers`); none means host candidates only, never
    aiortc's default (Google's STUN server).
    """

    def __init__(self, emit: EventSink, *, play: str | None = None, record: str | None = None,
                 ice_servers: Sequence[RTCIceServer] = ()) -> None:
        self._emit = emit
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers)))
        self.sources = MediaSources(play)
        self.sinks = MediaSinks(record, self._on_first_frame)
        self._pending: list[tuple[str, str]] = []
        self._remote_count = 0
        self.connection_state = "new"
        #: the media connected at some point (ICE and DTLS)
        self.was_connected = False
        self._recorder_start: asyncio.Future[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    async def offer(self, kinds: Sequence[str]) -> tuple[str, dict[str, list[str]]]:
        """Our offer with one sendrecv section per kind, in ``kinds``' order.

        :returns: the SDP without candidates, and the candidates by mid to trickle.
        """
        for kind in kinds:
            self.pc.addTransceiver(self.sources.track(kind), direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return split_candidates(self.pc.localDescription.sdp)

    async def answer(self, offer: str) -> tuple[str, dict[str, list[str]]]:
        """Our answer to ``offer``: we send on every section it offers.

        :returns: the SDP without candidates, and the candidates by mid to trickle.
        """
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in self.pc.getTransceivers():
            self.pc.addTrack(self.sources.track(transceiver.kind))
        await self._add_pending()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return split_candidates(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        """The peer's answer to our offer."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await self._add_pending()

    async def add_remote_candidates(self, candidates: dict[str, list[str]]) -> None:
        """Candidates the peer trickled; kept until its description is known."""
        for mid, values in candidates.items():
            for value in values:
                self._remote_count += 1
                if self._remote_count > MAX_REMOTE_CANDIDATES:
                    return
                self._pending.append((mid, value))
        if self.pc.remoteDescription is not None:
            await self._add_pending()

    async def _add_pending(self) -> None:
        pending, self._pending = self._pending, []
        for mid, value in pending:
            try:
                candidate = candidate_from_sdp(strip_prefix(value))
            except (AssertionError, ValueError, IndexError):
                log.warning("ignored a malformed candidate for mid %r", mid[:32])
                continue
            candidate.sdpMid = mid
            await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """Stop sending and receiving; safe to call twice."""
        await self.sinks.stop()
        await self.pc.close()
        self.sources.stop()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.sinks.add(track)

    def _on_first_frame(self, kind: str) -> None:
        self._emit(f"first_{kind}_frame")

    def _on_connection_state(self) -> None:
        if self.pc.localDescription is None:  # closed before any call: nothing to tell
            return
        self.connection_state = self.pc.connectionState
        self._emit("media", state=self.connection_state)
        if self.connection_state == "connected":  # every received track is known by now
            self.was_connected = True
            self._recorder_start = asyncio.ensure_future(self.sinks.start())
