"""What a call sends and what happens to what it receives: a generated 440 Hz tone and a
320×240 test pattern (so a call needs no microphone nor camera), or a media file; and
watchers that note the first frame of each received track and may record it.

Imports aiortc and PyAV (the ``call`` extra)."""

from __future__ import annotations

import array
import asyncio
import fractions
import logging
import math
import os
import time
from typing import Any, Callable

import av
from aiortc.contrib.media import MediaPlayer, MediaRecorder
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
#: 20 ms of audio a frame, the usual Opus packet
FRAME_SAMPLES = 960
TONE_HZ = 440
#: 0.3 of full scale: audible, never clipping
TONE_AMPLITUDE = 0.3 * 32767
PATTERN_WIDTH, PATTERN_HEIGHT = 320, 240
#: SMPTE-like bars: white, yellow, cyan, green, magenta, red, blue
BAR_COLOURS = (
    (235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235), (235, 16, 16), (16, 16, 235),
)


def tone_table() -> bytes:
    """One second of the tone, signed 16-bit mono: 440 whole periods, so it loops
    without a click."""
    samples = array.array("h", (
        round(TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * index / SAMPLE_RATE)) for index in range(SAMPLE_RATE)
    ))
    return samples.tobytes()


def pattern_bars() -> bytes:
    """The still part of the test pattern: vertical colour bars, RGB24."""
    row = bytearray()
    for x in range(PATTERN_WIDTH):
        row.extend(BAR_COLOURS[x * len(BAR_COLOURS) // PATTERN_WIDTH])
    return bytes(row) * PATTERN_HEIGHT


class ToneTrack(AudioStreamTrack):
    """A 440 Hz sine, paced in real time like a microphone."""

    def __init__(self) -> None:
        super().__init__()
        self._table = tone_table()
        self._sent = 0  # samples
        self._started_at: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._started_at is None:
            self._started_at = time.time()
        else:
            self._sent += FRAME_SAMPLES
            await asyncio.sleep(self._started_at + self._sent / SAMPLE_RATE - time.time())
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        offset = (self._sent % SAMPLE_RATE) * 2
        frame.planes[0].update(self._table[offset:offset + FRAME_SAMPLES * 2])
        frame.pts = self._sent
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class PatternTrack(VideoStreamTrack):
    """Colour bars with a white line moving down, at aiortc's video pace (30 fps)."""

    def __init__(self) -> None:
        super().__init__()
        self._bars = pattern_bars()
        self._count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        row_bytes = PATTERN_WIDTH * 3
        line = self._count % PATTERN_HEIGHT
        self._count += 1
        image = bytearray(self._bars)
        image[line * row_bytes:(line + 1) * row_bytes] = b"\xff" * row_bytes
        frame = VideoFrame(width=PATTERN_WIDTH, height=PATTERN_HEIGHT, format="rgb24")
        frame.planes[0].update(bytes(image))
        frame.pts, frame.time_base = pts, time_base
        return frame


class RelayTrack(MediaStreamTrack):
    """A track fed frame by frame by a :class:`FrameWatcher`, for a recorder to read."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._frames: asyncio.Queue[Any] = asyncio.Queue(maxsize=100)

    def feed(self, frame: Any) -> None:
        if not self._frames.full():  # a slow recorder drops frames rather than grow memory
            self._frames.put_nowait(frame)

    async def recv(self) -> Any:
        frame = await self._frames.get()
        if frame is None:
            raise MediaStreamError
        return frame

    def finish(self) -> None:
        if self._frames.full():
            self._frames.get_nowait()
        self._frames.put_nowait(None)


class FrameWatcher:
    """Reads a received track to its end: calls ``on_first(kind)`` at its first frame,
    counts frames, and hands them to a relay when recording."""

    def __init__(self, track: MediaStreamTrack, on_first: Callable[[str], None], relay: RelayTrack | None) -> None:
        self.kind: str = track.kind
        self.frames = 0
        self._track, self._on_first, self._relay = track, on_first, relay
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                self.frames += 1
                if self.frames == 1:
                    self._on_first(self.kind)
                if self._relay is not None:
                    self._relay.feed(frame)
        except MediaStreamError:
            pass
        finally:
            if self._relay is not None:
                self._relay.finish()


class MediaFileError(Exception):
    """A file to play cannot be read, or one to record to cannot be written."""


#: what PyAV raises for a file it cannot open (its errors are OSError/ValueError too)
_FILE_ERRORS = (av.FFmpegError, OSError, ValueError)


class MediaSources:
    """The tracks we send: from ``play`` (a file PyAV reads) when given, else generated;
    a kind the file lacks is generated.

    :raises MediaFileError: ``play`` cannot be read as media.
    """

    def __init__(self, play: str | None) -> None:
        try:
            self.player = MediaPlayer(play) if play else None
        except _FILE_ERRORS as error:
            raise MediaFileError(f"cannot play {play!r}: {error}") from None

    def track(self, kind: str) -> MediaStreamTrack:
        if self.player is not None:
            track = self.player.audio if kind == "audio" else self.player.video
            if track is not None:
                return track
        return ToneTrack() if kind == "audio" else PatternTrack()

    def stop(self) -> None:
        if self.player is not None:
            for track in (self.player.audio, self.player.video):
                if track is not None:
                    track.stop()


class MediaSinks:
    """What we do with received tracks: watch each, and record them to ``record`` (a file
    whose extension chooses the container) when given.

    :raises MediaFileError: ``record``'s directory does not exist or its extension names no format.
    """

    def __init__(self, record: str | None, on_first: Callable[[str], None]) -> None:
        self.recorder = None
        if record:
            if not os.path.isdir(os.path.dirname(os.path.abspath(record))):
                raise MediaFileError(f"cannot record to {record!r}: no such directory")
            try:
                self.recorder = MediaRecorder(record)
            except _FILE_ERRORS as error:
                raise MediaFileError(f"cannot record to {record!r}: {error}") from None
        self.watchers: list[FrameWatcher] = []
        self._on_first = on_first
        self._recording = False

    def add(self, track: MediaStreamTrack) -> None:
        relay = None
        if self.recorder is not None:
            relay = RelayTrack(track.kind)
            self.recorder.addTrack(relay)
        self.watchers.append(FrameWatcher(track, self._on_first, relay))

    async def start(self) -> None:
        """Start the recorder, once every received track is added."""
        if self.recorder is not None and not self._recording:
            self._recording = True
            await self.recorder.start()

    async def stop(self) -> None:
        for watcher in self.watchers:
            watcher.task.cancel()
        await asyncio.gather(*(watcher.task for watcher in self.watchers), return_exceptions=True)
        if self.recorder is not None and self._recording:
            await self.recorder.stop()

    def frame_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for watcher in self.watchers:
            counts[watcher.kind] = counts.get(watcher.kind, 0) + watcher.frames
        return counts
