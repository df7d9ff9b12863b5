"""``sat call`` asks our server for its STUN/TURN servers (XEP-0215) and gives them to
its media engine: on a Prosody announcing a STUN server on loopback (a tiny responder
that counts what it is asked), both sides of a call send it Binding requests, and the
call still connects. (A server without XEP-0215 is the case of ``test_calls_media``.)"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.fixtures.dbus import PrivateBus
from tests.fixtures.stun import StunResponder, stun_responder
from tests.integration.test_calls_media import CallParties, by_name, parties_on, talk

#: announced too, and skipped by the media engine (TURNS is TLS over TCP): its password
#: must show nowhere in what ``sat call`` prints
TURNS_PASSWORD = "turns-over-udp-Pa55word"


@pytest.fixture(scope="module")
def stun_server() -> Iterator[StunResponder]:
    yield from stun_responder()


@pytest.fixture(scope="module")
def parties_with_stun(session_bus: PrivateBus, tmp_path_factory: pytest.TempPathFactory,
                      stun_server: StunResponder) -> Iterator[CallParties]:
    services = (
        {"type": "stun", "transport": "udp", "host": stun_server.host, "port": stun_server.port},
        {"type": "turns", "transport": "udp", "host": "turns.localhost", "port": 5349,
         "username": "alice-turns", "password": TURNS_PASSWORD},
    )
    yield from parties_on(session_bus, tmp_path_factory.mktemp("calls-stun"), services)


def test_a_call_uses_our_servers_stun_server(parties_with_stun: CallParties, stun_server: StunResponder) -> None:
    before = len(stun_server.requests)
    processes_before = len(parties_with_stun.processes)
    alice_events, bob_events = talk(parties_with_stun, parties_with_stun.jids["bob"], "--audio-only")
    url = f"stun:{stun_server.host}:{stun_server.port}"
    for events in (alice_events, bob_events):
        assert by_name(events)["ice_servers"]["urls"] == [url]
    # each side's ICE agent asked it, from its own host candidate's port
    sources = set(stun_server.requests[before:])
    assert len(sources) >= 2, sources
    assert {host for host, _ in sources} == {"127.0.0.1"}
    for process in parties_with_stun.processes[processes_before:]:
        printed = "".join(str(event) for event in process.events) + (process.process.stderr.read()
                                                                     if process.process.stderr else "")
        assert TURNS_PASSWORD not in printed and "alice-turns" not in printed
