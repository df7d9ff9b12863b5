"""``[pubsub] cache`` in sat.conf: false makes every pubsub read go to the service, even
for nodes an analyser would synchronise (the user's switch beats the analysers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sat_bridge import errors
from tests.fixtures.backend import BackendProcess
from tests.fixtures.ejabberd import XmppServer
from tests.integration.xmpp_helpers import create_xmpp_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

BLOG = "urn:xmpp:microblog:0"


@pytest.mark.parametrize("cache_on", [True, False])
def test_config_switch_decides_whether_reads_use_the_cache(
    backend_env: dict[str, str], tmp_path: Path, xmpp_server: XmppServer, cache_on: bool,
) -> None:
    config = tmp_path / "sat.conf"
    config.write_text(f"[pubsub]\ncache = {'true' if cache_on else 'false'}\n")
    backend = BackendProcess(backend_env, tmp_path / "backend.log", ("--config", str(config)))
    client = backend.start()
    try:
        create_xmpp_profile(client, xmpp_server, "dave")
        client.connect("dave")
        client.mb_send("", "", json.dumps({"title": f"cache {cache_on}", "content": "switch"}), "dave")
        first = json.loads(client.mb_get("", "", 0, [], "{}", "dave"))
        assert first["cached"] is False  # never read before: from the service
        if cache_on:
            client.ps_cache_sync("", BLOG, "dave")  # waits for the sync the first read started
        else:
            with pytest.raises(errors.NotSupported, match=r"\[pubsub\] cache"):
                client.ps_cache_sync("", BLOG, "dave")
        second = json.loads(client.mb_get("", "", 0, [], "{}", "dave"))
        assert second["cached"] is cache_on
        assert f"cache {cache_on}" in [post.get("title") for post in second["items"]]
    finally:
        backend.stop()
