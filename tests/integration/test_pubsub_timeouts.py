"""A service that never answers: the bridge call still replies, with ``Timeout`` after
``[xmpp] request_timeout``, and the backend goes on serving (seen on Prosody 0.12, which
drops a pubsub request when a Lua error hits it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sat_bridge import errors
from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.pubsub_component import connected_component
from tests.integration.xmpp_helpers import create_xmpp_profile

ENTRY = "<entry xmlns='http://www.w3.org/2005/Atom'><title>{}</title></entry>"


def test_a_silent_service_gives_timeout_not_a_hung_call(backend_env: dict[str, str], tmp_path: Path,
                                                        prosody: ProsodyServer) -> None:
    config = tmp_path / "sat.conf"
    config.write_text("[xmpp]\nrequest_timeout = 2\n")
    backend = BackendProcess(backend_env, tmp_path / "backend.log", ("--config", str(config)))
    client = backend.start()
    try:
        create_xmpp_profile(client, prosody, "bob")
        client.connect("bob")
        with connected_component(prosody) as component:
            component.nodes["answers"] = [("a", ENTRY.format("a"))]
            component.nodes["hangs"] = [("h", ENTRY.format("h"))]
            component.silent_nodes.add("hangs")
            for extra in ({"use_cache": False}, {}):  # straight to the service, and through the cache
                with pytest.raises(errors.Timeout, match="no answer within 2 s"):
                    client.ps_items_get(component.service, "hangs", 0, [], "", json.dumps(extra), "bob",
                                        timeout=30)
            with pytest.raises(errors.Timeout):
                client.ps_subscribe(component.service, "hangs", "{}", "bob", timeout=30)
            with pytest.raises(errors.Timeout):  # the same bound for every request, disco too
                client.disco_infos(component.service, "hangs", "bob", timeout=30)
            answer = json.loads(client.ps_items_get(component.service, "answers", 0, [], "", "{}", "bob"))
            assert len(answer["items"]) == 1 and client.is_connected("bob")
    finally:
        backend.stop()
