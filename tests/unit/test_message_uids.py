"""Our message ids are UUIDv7 (RFC 9562): time first, so that they sort by time and a new
message's rows land at the right edge of the history indexes keyed by them."""

from __future__ import annotations

import time
import uuid

from sat_backend.core.im.message_stanza import new_uid, uid_at

#: 2026-12-08T00:00:00Z in milliseconds
MS = 1_796_688_000_000


def test_an_id_is_a_version_7_uuid_of_its_millisecond() -> None:
    uid = uid_at(MS)
    parsed = uuid.UUID(hex=uid)
    assert len(uid) == 32 and uid == uid.lower() and parsed.hex == uid
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == MS


def test_ids_sort_by_their_millisecond_and_never_repeat() -> None:
    earlier = [uid_at(MS) for _ in range(500)]
    later = [uid_at(MS + 1) for _ in range(500)]
    assert max(earlier) < min(later)
    assert len(set(earlier + later)) == 1000  # 74 random bits each


def test_a_new_id_is_of_now() -> None:
    before = time.time_ns() // 1_000_000
    uid = new_uid()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(hex=uid).int >> 80 <= after
