"""A cached node deleted without a notification is not served forever: on both servers, a
node configured with ``pubsub#notify_delete`` off (ejabberd's default) is deleted while the
reader stays online; its next read confirms the node with the service (disco#info), drops it
from the cache with a ``delete`` PsEvent and reports it missing (pubsub_cache.existence)."""

from __future__ import annotations

import pytest

from sat_bridge import errors
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.test_pubsub import SERVICE, entry, get, texts
from tests.integration.xmpp_helpers import create_xmpp_profile

pytestmark = pytest.mark.ejabberd


def test_a_node_deleted_without_notification_is_dropped_at_its_next_due_read(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    signals = SignalRecorder(client, "PsEvent")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, "quiet", {"pubsub#max_items": "max", "pubsub#notify_delete": "0"})
        carol.publish(SERVICE, "quiet", entry("one"), "one")
        client.ps_cache_sync(SERVICE, "quiet", "alice")
        assert get(client, "quiet")["cached"] is True  # first read of the run: confirmed

        carol.call(lambda xmpp: xmpp.plugin["xep_0060"].delete_node(SERVICE, "quiet"))
        # confirmed a moment ago (default period: 300 s), and nobody told us: still served
        stale = get(client, "quiet")
        assert stale["cached"] is True and texts(stale) == ["one"]

        client.param_set("Pubsub", "CacheRevalidateAfter", "0", "alice")  # the period is over
        with pytest.raises(errors.NotFound, match="item-not-found"):
            get(client, "quiet")

    signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: (svc, node, kind) == (SERVICE, "quiet", "delete"))
    with pytest.raises(errors.NotFound):
        client.ps_cache_get(SERVICE, "quiet", 0, [], "", "{}", "alice")
