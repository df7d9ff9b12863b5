"""XEP-0060 Publish-Subscribe (v1.26) and XEP-0163 PEP, with XEP-0059 RSM paging.

Bridge members ``Ps*`` map to tx-xmpp's pubsub client. Reading items goes through the
trigger point :data:`ITEMS_GET_TRIGGER` first, so that the pubsub cache can answer from
the database (``ShortCircuit``) instead of the network. Notifications become ``PsEvent``
signals after the listeners (the cache) have handled them: notifications are queued per
profile and drained by one task, which hands every waiting one (up to
:data:`EVENT_BATCH`) to the listeners at once, so a burst is stored in few transactions,
then emits their signals in the order received.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterator, Sequence, overload

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, NotFound, Stanza, Timeout
from sat_backend.core.im.background import log_failure
from sat_backend.core.jids import parse_jid
from sat_backend.core.lazy_import import lazy_module
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.core.received_item import ReceivedItem
from sat_backend.core.result_set import page_locally
from sat_backend.core.sessions import open_stream
from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.xml_payloads import check_xml_strings, payload_element
from sat_backend.core.xmpp.reading_pause import ReadingPause
from sat_backend.plugins.pubsub_owner import PubsubOwner
from sat_backend.plugins.tx_xmpp_modules import pubsub
from sat_backend.plugins.tx_xmpp_modules import rsm as tx_rsm
from sat_bridge.xml_text import check_xml_text

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from twisted.words.protocols.jabber import xmlstream

    from sat_backend.plugins import pubsub_handler

else:  # the class of the handler needs tx-xmpp's client: imported by the first connection
    pubsub_handler = lazy_module("sat_backend.plugins.pubsub_handler")
    # imports the TLS stack (issue 14); only its TimeoutError is read, once a request failed
    xmlstream = lazy_module("twisted.words.protocols.jabber.xmlstream")

log = logging.getLogger(__name__)

ITEMS_GET_TRIGGER = "pubsub_items_get"
ITEMS_EXTRA_KEYS = ("rsm_max", "rsm_after", "rsm_before", "rsm_index", "order_by", "use_cache")
MAX_NODE_NAME = 1024
#: RSM page size when ``rsm_max`` is not given (what tx-xmpp's ``RSMRequest`` defaults to)
RSM_PAGE_SIZE = 10
#: notifications handed to the listeners at once (one cache transaction)
EVENT_BATCH = 200
#: notifications of one profile waiting to be handled at which reading its stream pauses,
#: and the count at which it reads again (:mod:`~sat_backend.core.xmpp.reading_pause`)
MAX_QUEUED_EVENTS = 1000
RESUME_QUEUED_EVENTS = 2 * EVENT_BATCH

PLUGIN_INFO = {
    "name": "Publish-Subscribe",
    "import_name": "XEP-0060",
    "type": "XEP",
    "protocols": ["XEP-0060", "XEP-0163", "XEP-0059"],
    "recommendations": ["XEP-0030"],
    "main": "Pubsub",
    "handler": True,
    "description": "Nodes and items on pubsub services and PEP",
}


class NodeNotFound(NotFound):
    """The service answered an items request ``item-not-found`` (XEP-0060 §6.5.9.11:
    the node does not exist), so that a reader to whom a missing node means "nothing
    published yet" (``MbGet``) can tell it from other missing things."""


@dataclass
class ItemsRequest:
    """A checked ``PsItemsGet``: what triggers (the cache) and the network both see.
    ``client`` is None when the profile is offline (only the cache can answer then)."""

    profile: str
    client: XmppClient | None
    service: JID
    node: str
    max_items: int
    item_ids: list[str]
    sub_id: str | None
    rsm: dict[str, Any]
    order_by: str | None
    use_cache: bool
    #: the reader uses the cache's parsed data (``ItemsResult.parsed``): read only then
    want_parsed: bool = False
    #: the reader sends the items on as JSON (``PsItemsGet``, ``PsCacheGet``): the cache
    #: may hand them already encoded (:class:`EncodedItems`)
    encoded: bool = False


class EncodedItems(Sequence[str]):
    """Raw XML items held as one JSON array, encoded once (by the database, for the
    cache): :meth:`ItemsResult.to_json` splices it in as it is; a reader of the items
    gets them decoded on first use."""

    __slots__ = ("json", "_length", "_decoded")

    def __init__(self, json_array: str, length: int) -> None:
        self.json = json_array
        self._length = length
        self._decoded: list[str] | None = None

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self.decoded()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decoded())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"EncodedItems({self._length} items)"

    def decoded(self) -> list[str]:
        if self._decoded is None:
            self._decoded = json.loads(self.json)
        return self._decoded


@dataclass
class ItemsResult:
    items: Sequence[str]
    service: str
    node: str
    rsm: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    cached: bool = False
    #: an answer of the pubsub cache: per item, what the node's parser stored (None: that
    #: item's parse failed); None elsewhere, or when the stored data is not current.
    #: Never in :meth:`to_json` (``PsItemsGet`` returns the raw XML only)
    parsed: list[dict[str, Any] | None] | None = None
    #: the analyser whose parser produced ``parsed`` (readers check it is theirs)
    parser: str | None = None

    def to_json(self) -> str:
        rest = {"service": self.service, "node": self.node, "rsm": self.rsm, "complete": self.complete,
                "cached": self.cached}
        if isinstance(self.items, EncodedItems):  # as encoded: not decoded and encoded again
            return f'{{"items": {self.items.json}, {json.dumps(rest)[1:]}'
        return json.dumps({"items": self.items, **rest})


@dataclass(frozen=True)
class PubsubEvent:
    """A notification, as it came; listeners (the cache) say what to signal of it in an
    :class:`EventOutcome` rather than changing it (several readers share it)."""

    client: XmppClient
    service: JID
    node: str
    event_type: str  # items, retract, purge, delete, config
    items: list[domish.Element] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)
    #: ``config`` events: the node configuration form's fields (var: value or list of values)
    config: dict[str, Any] | None = None


@dataclass(frozen=True)
class EventOutcome:
    """What a listener (the cache) made of one notification: what its ``PsEvent`` says.

    ``items``: the items to signal, read once (id, raw XML, parsed data); None: the
    notification's items as they came. ``retracted``: None: the notification's.
    ``no_op``: it changed nothing (no ``PsEvent``)."""

    category: str = "generic"
    items: tuple[ReceivedItem, ...] | None = None
    retracted: tuple[str, ...] | None = None
    no_op: bool = False


#: gets a batch of notifications of one profile, in the order received; returns, per
#: notification, its outcome (None: nothing to say, signalled as it came). It must never
#: wait for an answer from the profile's server: reading may be paused until it returns
EventListener = Callable[[list[PubsubEvent]], Awaitable[Sequence[EventOutcome | None]]]


class Pubsub:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.handlers: dict[str, pubsub_handler.PubsubHandler] = {}
        #: awaited in order for each batch of notifications, before ``PsEvent`` (the cache updates here)
        self.event_listeners: list[EventListener] = []
        self._event_queues: dict[str, deque[PubsubEvent]] = {}
        self._event_drains: dict[str, asyncio.Task[None]] = {}
        #: per profile: its stream stops reading while too many notifications wait
        self._reading_pauses: dict[str, ReadingPause] = {}

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(self._make_handler)
        register = self.host.bridge.register_method
        register("PsNodeCreate", self.node_create)
        register("PsNodeDelete", self.node_delete)
        register("PsNodePurge", self.node_purge)
        register("PsItemSend", self.item_send)
        register("PsItemsGet", self.items_get)
        register("PsItemRetract", self.item_retract)
        register("PsSubscribe", self.subscribe)
        register("PsUnsubscribe", self.unsubscribe)
        owner = PubsubOwner(self)  # owner use cases (§8) and our own subscriptions/affiliations
        register("PsNodeConfigurationGet", owner.configuration_get)
        register("PsNodeConfigurationSet", owner.configuration_set)
        register("PsNodeAffiliationsGet", owner.affiliations_get)
        register("PsNodeAffiliationsSet", owner.affiliations_set)
        register("PsNodeSubscriptionsGet", owner.node_subscriptions_get)
        register("PsSubscriptionsGet", owner.subscriptions_get)
        register("PsAffiliationsGet", owner.affiliations_own_get)
        self.host.bridge.enable_signal("PsEvent")

    def _make_handler(self, client: XmppClient) -> pubsub_handler.PubsubHandler:
        handler = pubsub_handler.PubsubHandler(self, client)
        self.handlers[client.profile] = handler
        return handler

    # helpers -------------------------------------------------------------------------

    async def _target(self, service: str, node: str, profile: str, *, optional_node: bool = False,
                      ) -> tuple[XmppClient, pubsub_handler.PubsubHandler, JID]:
        """Connected client, its handler and the service JID (``""`` = our PEP service).

        :param optional_node: ``""`` is a valid node here (instant node, the service's root).
        :raises InvalidArgument: bad service JID or node name.
        :raises ProfileNotConnected: offline profile.
        """
        check_node(node, optional_node)
        resolved = await self.host.profiles.resolve(profile)
        # the service is checked before the connection: bad input is reported as such
        target = await self.service_jid(service, resolved, self.host.sessions.clients.get(resolved))
        client = self.host.sessions.get_client(resolved)
        return client, self.handlers[client.profile], target

    async def service_jid(self, service: str, profile: str, client: XmppClient | None = None) -> JID:
        """The pubsub service a member names: ``""`` is the profile's own PEP service,
        from the session when there is one, else from the params (so that offline reads
        of cached PEP nodes work too).

        :raises InvalidArgument: not a JID.
        """
        if service:
            return parse_jid(service, "service")
        if client is not None:  # its JID is known even while it reconnects
            return JID(client.jid.userhost())
        return JID(await self.host.params.get_public("Connection", "JabberID", profile))

    async def ask(self, deferred: Any, what: str) -> Any:
        """Await a pubsub request; stanza errors become ``Stanza``/``NotFound`` with the condition.

        Bounded by ``[xmpp] request_timeout``: a service that never answers (Prosody 0.12
        drops the IQ when a Lua error hits it) must not leave a bridge call without a reply.
        """
        try:
            return await self.host.sessions.answer(deferred)
        except error.StanzaError as exc:
            text = f": {exc.text}" if exc.text else ""
            if exc.condition == "item-not-found":
                raise NotFound(f"item-not-found: {what}{text}") from None
            raise Stanza(f"{exc.condition}: {what}{text}") from None
        except pubsub.SubscriptionPending:
            raise Stanza(f"pending: {what}: the subscription awaits approval") from None
        except (xmlstream.TimeoutError, Timeout):
            raise Timeout(f"{what}: no answer within {self.host.config.request_timeout:g} s") from None

    async def request(self, verb: str, service: str, node: str, profile: str, what: str, *,
                      optional_node: bool = False, **attributes: Any) -> domish.Element:
        """Send a pubsub request of ``verb`` (tx-xmpp's ``PubSubRequest``, for what its client
        has no call for) with these attributes; the answer IQ, errors mapped by :meth:`ask`.

        :param what: the request, as error messages name it: "``what`` 'node' on service".
        """
        client, handler, target = await self._target(service, node, profile, optional_node=optional_node)
        request = handler._request_class(verb)
        request.recipient, request.nodeIdentifier = target, node or None
        for name, value in attributes.items():
            setattr(request, name, value)
        answer: domish.Element = await self.ask(request.send(open_stream(client)), f"{what} {node!r} on {target.full()}")
        return answer

    # bridge members ----------------------------------------------------------------------

    async def node_create(self, service: str, node: str, options_json: str, profile: str) -> str:
        options = parse_json_object(options_json, "options_json")  # strings checked as decoded
        client, handler, target = await self._target(service, node, profile, optional_node=True)
        created = await self.ask(handler.createNode(target, node or None, options or None),
                                  f"creating node {node!r} on {target.full()}")
        return str(created or node)

    async def node_delete(self, service: str, node: str, profile: str) -> None:
        client, handler, target = await self._target(service, node, profile)
        await self.ask(handler.deleteNode(target, node), f"deleting node {node!r} on {target.full()}")

    async def node_purge(self, service: str, node: str, profile: str) -> None:
        await self.request("purge", service, node, profile, "purging node")

    async def item_send(self, service: str, node: str, payload_xml: str, item_id: str, extra_json: str,
                        profile: str) -> str:
        payload = payload_element(payload_xml)
        extra = parse_json_object(extra_json, "extra_json", ("publish_options",))
        options = extra.get("publish_options") or None
        if options is not None and not isinstance(options, dict):
            raise InvalidArgument("publish_options must be a JSON object")
        check_xml_text(item_id, "item_id")
        client, handler, target = await self._target(service, node, profile)
        item = pubsub.Item(id=item_id or None, payload=payload)
        answer = await self.ask(handler.publish(target, node, [item], options=options),
                                 f"publishing to {node!r} on {target.full()}")
        return _published_id(answer) or item_id

    async def item_retract(self, service: str, node: str, item_id: str, notify: bool, profile: str) -> None:
        if not item_id:
            raise InvalidArgument("item_id is empty")
        check_xml_text(item_id, "item_id")
        client, handler, target = await self._target(service, node, profile)
        await self.ask(handler.retractItems(target, node, [item_id], notify=notify),
                        f"retracting {item_id!r} from {node!r}")

    async def subscribe(self, service: str, node: str, options_json: str, profile: str) -> str:
        options = parse_json_object(options_json, "options_json")  # strings checked as decoded
        client, handler, target = await self._target(service, node, profile, optional_node=True)
        subscription = await self.ask(
            handler.subscribe(target, node, JID(client.jid.userhost()), options=options or None),
            f"subscribing to {node!r} on {target.full()}",
        )
        return str(getattr(subscription, "subscriptionIdentifier", None) or "")

    async def unsubscribe(self, service: str, node: str, profile: str) -> None:
        client, handler, target = await self._target(service, node, profile, optional_node=True)
        await self.ask(handler.unsubscribe(target, node, JID(client.jid.userhost())),
                        f"unsubscribing from {node!r} on {target.full()}")

    async def items_get(self, service: str, node: str, max_items: int, item_ids: list[str], sub_id: str,
                        extra_json: str, profile: str) -> str:
        request = await self.items_request(service, node, max_items, item_ids, sub_id, extra_json, profile,
                                           encoded=True)
        return (await self.get_items(request)).to_json()

    async def items_request(self, service: str, node: str, max_items: int, item_ids: list[str], sub_id: str,
                            extra_json: str, profile: str, *, encoded: bool = False) -> ItemsRequest:
        """A checked request; ``encoded``: the reader only sends the answer on as JSON
        (:attr:`ItemsRequest.encoded`)."""
        if max_items < 0:
            raise InvalidArgument("max_items must be 0 (no limit) or positive")
        extra = parse_json_object(extra_json, "extra_json", ITEMS_EXTRA_KEYS)
        rsm: dict[str, Any] = {}
        for key in ("rsm_max", "rsm_index"):
            if key in extra:
                if not isinstance(extra[key], int) or isinstance(extra[key], bool) or extra[key] < 0:
                    raise InvalidArgument(f"{key} must be a non-negative integer")
                rsm[key[4:]] = extra[key]
        for key in ("rsm_after", "rsm_before"):
            if key in extra:
                if not isinstance(extra[key], str):
                    raise InvalidArgument(f"{key} must be a string")  # its characters: checked as decoded
                rsm[key[4:]] = extra[key]
        if len({"after", "before", "index"} & set(rsm)) > 1:
            raise InvalidArgument("give at most one of rsm_after, rsm_before and rsm_index")
        order_by = extra.get("order_by")
        if order_by not in (None, "creation", "modification"):
            raise InvalidArgument("order_by must be 'creation' or 'modification'")
        use_cache = extra.get("use_cache", True)
        if not isinstance(use_cache, bool):
            raise InvalidArgument("use_cache must be true or false")
        check_xml_strings(list(item_ids), "item_ids")
        check_xml_text(sub_id, "sub_id")
        check_node(node)
        resolved = await self.host.profiles.resolve(profile)
        client = self.host.sessions.clients.get(resolved)
        target = await self.service_jid(service, resolved, client)
        if client is not None and not client.is_connected:
            client = None
        return ItemsRequest(resolved, client, target, node, max_items, list(item_ids), sub_id or None, rsm,
                            order_by, use_cache, encoded=encoded)

    async def get_items(self, request: ItemsRequest) -> ItemsResult:
        """Items through the trigger point (the cache may answer), else from the service."""
        short_circuit = await self.host.triggers.run(ITEMS_GET_TRIGGER, request)
        if short_circuit is not None and isinstance(short_circuit.value, ItemsResult):
            return short_circuit.value
        return await self.fetch_items(request)

    async def fetch_items(self, request: ItemsRequest) -> ItemsResult:
        """Ask the service (never the cache).

        :raises ProfileNotConnected: the profile is offline.
        """
        handler = self.handlers[self.host.sessions.get_client(request.profile).profile]
        rsm_request = None
        if request.rsm:
            # after "" = from the start (as the cache reads it): no <after/>, which XEP-0059
            # gives no empty form (ejabberd refuses it: "Missing cdata"); <before/> may be empty
            rsm_request = tx_rsm.RSMRequest(max_=request.rsm.get("max", RSM_PAGE_SIZE),
                                            after=request.rsm.get("after") or None,
                                            before=request.rsm.get("before"), index=request.rsm.get("index"))
        order = [request.order_by] if request.order_by else None
        item_ids = list(dict.fromkeys(request.item_ids))  # each once, in the order asked
        try:
            items, rsm_response = await self.ask(
                handler.items(request.service, request.node, request.max_items or None, request.sub_id, None,
                              item_ids or None, order, rsm_request),
                f"items of {request.node!r} on {request.service.full()}",
            )
        except NotFound as exc:
            raise NodeNotFound(str(exc)) from None
        if request.rsm and rsm_response is None:
            return _paged_locally(request, items)
        xml_items = [element_xml(item) for item in items]
        rsm = rsm_response.toDict() if rsm_response is not None else {}
        return ItemsResult(xml_items, request.service.full(), request.node, rsm,
                           complete=_is_complete(request, len(items), rsm))

    # notifications ---------------------------------------------------------------------------

    def queue_event(self, event: PubsubEvent) -> None:
        """Handle a notification (or a change found otherwise, e.g. by the cache's
        reconnect check): listeners then ``PsEvent``, in the order queued per profile."""
        profile = event.client.profile
        queue = self._event_queues.setdefault(profile, deque())
        queue.append(event)
        if len(queue) >= MAX_QUEUED_EVENTS:  # memory stays bounded whatever the server relays
            stream = event.client.xmlstream
            self._reading_pause(profile).waiting(len(queue), stream.transport if stream is not None else None,
                                                 profile)
        if profile not in self._event_drains:
            self._event_drains[profile] = asyncio.ensure_future(self._drain_events(profile))

    def _reading_pause(self, profile: str) -> ReadingPause:
        pause = self._reading_pauses.get(profile)
        if pause is None:
            pause = self._reading_pauses[profile] = ReadingPause(MAX_QUEUED_EVENTS, RESUME_QUEUED_EVENTS,
                                                                 "pubsub notifications")
        return pause

    async def _drain_events(self, profile: str) -> None:
        """Every queued notification of ``profile``, by batches: one call of each listener
        per batch, then the batch's signals in order. No await between the last emptiness
        check and the end, so an event queued meanwhile always finds a drain running.
        Reading its stream, if paused, resumes once few wait (:data:`RESUME_QUEUED_EVENTS`)."""
        queue = self._event_queues[profile]
        pause = self._reading_pause(profile)
        try:
            while queue:
                if pause.paused:
                    pause.waiting(len(queue), None, profile)
                batch = [queue.popleft() for _ in range(min(len(queue), EVENT_BATCH))]
                outcomes: list[EventOutcome | None] = [None] * len(batch)
                for listener in self.event_listeners:
                    try:
                        said = await listener(batch)
                    except Exception as exc:  # noqa: BLE001 - the signals must still reach frontends
                        log_failure(f"{profile}: pubsub event listener", exc)
                        continue
                    outcomes = [own if own is not None else earlier for own, earlier in zip(said, outcomes)]
                for event, outcome in zip(batch, outcomes):
                    if outcome is not None and outcome.no_op:
                        continue
                    try:
                        self._emit_event(event, outcome or EventOutcome())
                    except Exception:  # noqa: BLE001 - one bad event must not stop the others
                        log.exception("%s: PsEvent not emitted for %s", profile, event.node)
        finally:
            del self._event_drains[profile]
            pause.resume(profile)  # nothing waits (or the drain was cancelled): read again

    def _emit_event(self, event: PubsubEvent, outcome: EventOutcome) -> None:
        if outcome.items is None:
            items = [{"id": item.getAttribute("id", ""), "xml": element_xml(item)} for item in event.items]
        else:  # read once by the cache: no second serialisation
            items = [{"id": item.id, "xml": item.xml, **({"parsed": item.parsed} if item.parsed is not None else {})}
                     for item in outcome.items]
        data = {
            "items": items,
            "retracted": list(outcome.retracted) if outcome.retracted is not None else event.retracted,
            **({"config": event.config} if event.config is not None else {}),
        }
        self.host.bridge.emit("PsEvent", outcome.category, event.service.full(), event.node, event.event_type,
                              json.dumps(data), event.client.profile)


def check_node(node: str, optional: bool = False) -> None:
    """:raises InvalidArgument: not a node name (tx-xmpp cannot even build most requests
    without one; XML 1.0 cannot carry some characters)."""
    if not node and not optional:
        raise InvalidArgument("node is required")
    if len(node) > MAX_NODE_NAME:
        raise InvalidArgument(f"node is longer than {MAX_NODE_NAME} characters")
    check_xml_text(node, "node")
    if any(ord(char) < 32 for char in node):  # tab, line feed: an attribute value would not keep them
        raise InvalidArgument("node names cannot contain tabs or line breaks")


def _published_id(answer: Any) -> str | None:
    pubsub_element = getattr(answer, "pubsub", None)
    publish = getattr(pubsub_element, "publish", None) if pubsub_element is not None else None
    item = getattr(publish, "item", None) if publish is not None else None
    return str(item["id"]) if item is not None and item.hasAttribute("id") else None


def _is_complete(request: ItemsRequest, received: int, rsm: dict[str, Any]) -> bool:
    """Whether the answer holds everything the request asked for: every requested id, or
    the whole result set (a page of a bigger set is not complete, as from the cache)."""
    if request.item_ids:
        return received == len(set(request.item_ids))
    if rsm.get("count") is not None:
        return int(rsm.get("index") or 0) == 0 and received >= int(rsm["count"])
    if request.rsm:
        return False  # an RSM answer without a count: we cannot tell
    if request.max_items:
        return received < request.max_items
    return True


def _paged_locally(request: ItemsRequest, items: list[domish.Element]) -> ItemsResult:
    """RSM asked but the answer has no ``<set/>`` (Prosody 0.12): the service sent the whole
    node, or its ``max_items`` most recent items. Page over that list here, as the cache
    does; a list the service may have cut gives no ``count``/``index`` and is never complete.

    :raises NotFound: ``rsm_after``/``rsm_before`` names no item of the node.
    """
    names = [str(item.getAttribute("id", "")) for item in items]
    whole = not request.max_items or len(items) < request.max_items
    page = page_locally(names, request.rsm, RSM_PAGE_SIZE, whole)
    complete = page.complete and (not request.item_ids or len(items) == len(set(request.item_ids)))
    return ItemsResult([element_xml(item) for item in items[page.start:page.end]], request.service.full(), request.node,
                       page.rsm, complete=complete)
