"""XEP-0215 answers read without a server: what is kept, what is left out, and that a
password never shows in a repr or a log line."""

from __future__ import annotations

import logging

import pytest

from sat_backend.core.xml_payloads import payload_element
from sat_backend.plugins.plugin_xep_0215 import MAX_SERVICES, NS_EXTDISCO, parse_services


def services(*attributes: str) -> str:
    return f"<services xmlns='{NS_EXTDISCO}'>" + "".join(f"<service {a}/>" for a in attributes) + "</services>"


def test_the_xep_example_is_read() -> None:
    """XEP-0215 v1.0.0 §3.1's answer, trimmed."""
    found = parse_services(payload_element(services(
        "host='stun.shakespeare.lit' port='9998' transport='udp' type='stun'",
        "expires='2010-11-29T14:12:13Z' host='turn.shakespeare.lit' password='jj929jkj5sadjfj93v3n' port='3478' "
        "restricted='1' transport='udp' type='turn' username='nb78932lkjlskjfdb7g8'",
    )))
    assert [service.to_json() for service in found] == [
        {"type": "stun", "host": "stun.shakespeare.lit", "port": 9998, "transport": "udp", "username": None,
         "password": None, "expires": None, "restricted": False, "name": None},
        {"type": "turn", "host": "turn.shakespeare.lit", "port": 3478, "transport": "udp",
         "username": "nb78932lkjlskjfdb7g8", "password": "jj929jkj5sadjfj93v3n", "expires": "2010-11-29T14:12:13Z",
         "restricted": True, "name": None},
    ]
    assert "jj929jkj5sadjfj93v3n" not in repr(found)


@pytest.mark.parametrize("attributes", [
    "type='stun'",  # no host
    "host='h'",  # no type
    "type='STUN' host='h'",
    "type='stun' host='h' port='0'",
    "type='stun' host='h' port='65536'",
    "type='stun' host='h' port='+1'",
    "type='stun' host='h' transport='sctp'",
    "type='turn' host='h' expires='tomorrow'",
    f"type='turn' host='{'h' * 1024}'",
    f"type='turn' host='h' username='u' password='{'p' * 1025}'",
])
def test_a_malformed_service_is_left_out(attributes: str) -> None:
    found = parse_services(payload_element(services(attributes, "type='stun' host='kept'")))
    assert [service.host for service in found] == ["kept"]


def test_a_left_out_service_is_logged_without_its_values(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        parse_services(payload_element(services("type='turn' host='h' port='bad' username='u' password='Secret99'")))
    assert "service 1 left out: a port that is not 1–65535" in caplog.text
    assert "Secret99" not in caplog.text


def test_services_are_bounded() -> None:
    found = parse_services(payload_element(services(*[f"type='stun' host='h{n}'" for n in range(MAX_SERVICES + 5)])))
    assert len(found) == MAX_SERVICES and found[-1].host == f"h{MAX_SERVICES - 1}"
