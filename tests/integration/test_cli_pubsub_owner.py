"""``sat pubsub node config|affiliations|subscriptions`` and ``sat pubsub subscriptions|affiliations``
through the real CLI, backend and Prosody."""

from __future__ import annotations

import json
import uuid

from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.test_cli import sat
from tests.integration.xmpp_helpers import create_xmpp_profile


def test_node_administration_from_the_command_line(backend: BackendProcess, prosody: ProsodyServer) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, prosody, "alice")
    sat(backend, "connect", "-p", "alice")
    node = f"cli-owner-{uuid.uuid4().hex[:8]}"
    target = ["-s", "pubsub.localhost", "-n", node, "-p", "alice"]
    try:
        assert sat(backend, "pubsub", "node", "create", *target, "--keep-all").returncode == 0

        configured = sat(backend, "pubsub", "node", "config", "set", *target,
                         "-f", "pubsub#title", "From a shell", "-f", "pubsub#notify_retract", "false")
        assert configured.returncode == 0, configured.stderr
        config = json.loads(sat(backend, "-O", "json", "pubsub", "node", "config", "get", *target).stdout)
        assert config["values"]["pubsub#title"] == "From a shell"
        assert config["values"]["pubsub#notify_retract"] is False
        text = sat(backend, "pubsub", "node", "config", "get", *target).stdout.splitlines()
        assert text[0].split() == ["FIELD", "VALUE", "LABEL"]
        assert any(line.startswith("pubsub#title") and "From a shell" in line for line in text)
        unknown = sat(backend, "pubsub", "node", "config", "set", *target, "-f", "pubsub#nope", "1")
        assert unknown.returncode == 10 and "pubsub#nope" in unknown.stderr

        changed = sat(backend, "pubsub", "node", "affiliations", "set", *target, "-a", "bob@localhost", "member")
        assert changed.returncode == 0, changed.stderr
        affiliations = json.loads(sat(backend, "-O", "json", "pubsub", "node", "affiliations", "get", *target).stdout)
        assert affiliations == {"alice@localhost": "owner", "bob@localhost": "member"}
        table = sat(backend, "pubsub", "node", "affiliations", "get", *target).stdout.splitlines()
        assert [line.split() for line in table] == [["JID", "AFFILIATION"], ["alice@localhost", "owner"],
                                                   ["bob@localhost", "member"]]
        bad = sat(backend, "pubsub", "node", "affiliations", "set", *target, "-a", "bob@localhost", "king")
        assert bad.returncode == 10

        assert sat(backend, "pubsub", "subscribe", *target).returncode == 0
        subscribers = json.loads(sat(backend, "-O", "json", "pubsub", "node", "subscriptions", *target).stdout)
        assert [(entry["jid"], entry["subscription"]) for entry in subscribers] == [("alice@localhost", "subscribed")]
        own = sat(backend, "pubsub", "subscriptions", *target).stdout.splitlines()
        assert own[0].split()[:3] == ["NODE", "JID", "SUBSCRIPTION"] and own[1].split()[:3] == [
            node, "alice@localhost", "subscribed"]
        refused = sat(backend, "pubsub", "affiliations", "-s", "pubsub.localhost", "-p", "alice")
        assert refused.returncode == 19 and "service-unavailable" in refused.stderr
    finally:
        sat(backend, "pubsub", "node", "delete", *target)
        sat(backend, "disconnect", "-p", "alice")
