"""Pubsub members (XEP-0060, XEP-0163 PEP), on the plugin interface; names from the contract."""

from __future__ import annotations

from sat_bridge.members.core import IDENTIFIER_LENGTH, JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

SERVICE = Arg("service", "s", 'pubsub service JID; ``""`` = the profile\'s own PEP service', max_length=JID_LENGTH)
NODE = Arg("node", "s", "node name", max_length=IDENTIFIER_LENGTH)
ITEM_ID = Arg("item_id", "s", 'item id (``""`` = let the service choose)', max_length=IDENTIFIER_LENGTH)
#: an item payload as the backend bounds it (sat_backend.core.xml_payloads.MAX_PAYLOAD_BYTES)
PAYLOAD_LENGTH = 1_000_000
#: the node of a listing that may cover the whole service
ANY_NODE = Arg("node", "s", 'node name; ``""`` = every node of the service', max_length=IDENTIFIER_LENGTH)

#: XEP-0060 §8 owner use cases, then the entity's own subscriptions and affiliations (§5.6, §5.7)
PUBSUB_OWNER_MEMBERS: tuple[Member, ...] = (
    Method("PsNodeConfigurationGet", "plugin", (SERVICE, NODE, PROFILE), "s",
           "Configuration of a node (owner).",
           out_doc='JSON ``{"values": {field: value}, "fields": {field: {"type", "label", "options"?}}}``; '
                   "booleans are JSON booleans, multi-valued fields lists"),
    Method("PsNodeConfigurationSet", "plugin",
           (SERVICE, NODE,
            Arg("options_json", "s",
                "JSON object ``{field: value}``: only fields the service's form offers; a string (or integer), "
                "a boolean for boolean fields, a list of strings for multi-valued fields"),
            PROFILE),
           "", "Change a node's configuration (owner); fields not given keep their value."),
    Method("PsNodeAffiliationsGet", "plugin", (SERVICE, NODE, PROFILE), "a{ss}",
           "Every entity affiliated with a node (owner).", out_doc="JID → affiliation"),
    Method("PsNodeAffiliationsSet", "plugin",
           (SERVICE, NODE,
            Arg("affiliations", "a{ss}",
                "JID → ``owner``, ``publisher``, ``publish-only``, ``member``, ``outcast`` or ``none`` (removes)"),
            PROFILE),
           "", "Change affiliations with a node (owner)."),
    Method("PsNodeSubscriptionsGet", "plugin", (SERVICE, NODE, PROFILE), "s",
           "Every subscription to a node (owner).",
           out_doc='JSON list of ``{"node", "jid", "subscription", "subid"?}``'),
    Method("PsSubscriptionsGet", "plugin",
           (SERVICE, ANY_NODE, PROFILE), "s",
           "Our own subscriptions on a service.",
           out_doc='JSON list of ``{"node", "jid", "subscription", "subid"?}``'),
    Method("PsAffiliationsGet", "plugin",
           (SERVICE, ANY_NODE, PROFILE), "a{ss}",
           "Our own affiliations on a service.", out_doc="node → affiliation"),
)

PUBSUB_MEMBERS: tuple[Member, ...] = (
    Method("PsNodeCreate", "plugin",
           (SERVICE, Arg("node", "s", '``""`` = instant node (the service names it)', max_length=IDENTIFIER_LENGTH),
            Arg("options_json", "s", "node configuration, JSON object of ``pubsub#…`` fields"), PROFILE),
           "s", "Create a node.", out_doc="name of the created node"),
    Method("PsNodeDelete", "plugin", (SERVICE, NODE, PROFILE), "", "Delete a node and its items."),
    Method("PsNodePurge", "plugin", (SERVICE, NODE, PROFILE), "", "Remove every item of a node."),
    Method("PsItemSend", "plugin",
           (SERVICE, NODE, Arg("payload_xml", "s", "the item's payload, one XML element", content=True,
                max_length=PAYLOAD_LENGTH), ITEM_ID,
            Arg("extra_json", "s", 'JSON object: ``{"publish_options": {field: value}}``'), PROFILE),
           "s", "Publish an item.", out_doc="id of the published item"),
    Method("PsItemsGet", "plugin",
           (SERVICE, NODE, Arg("max_items", "i", "0 = no limit given"),
            Arg("item_ids", "as", "only these items (empty = all)", max_length=IDENTIFIER_LENGTH),
            Arg("sub_id", "s", 'subscription id (``""`` = none)', max_length=IDENTIFIER_LENGTH),
            Arg("extra_json", "s",
                "JSON object: ``rsm_max`` (default 10 when another ``rsm_*`` key is given; 0 = the count "
                "only), at most one of ``rsm_after``, ``rsm_before``, ``rsm_index``; "
                "``order_by`` (``creation``/``modification``, XEP-0413: sent, but Prosody 0.12 ignores it), "
                "``use_cache`` (false bypasses the cache)"),
            PROFILE),
           "s",
           'Items of a node as JSON ``{"items": [xml…], "service", "node", "rsm": {"first", "last", '
           '"index", "count"}, "complete": bool, "cached": bool}``; ``complete`` says whether the '
           "answer holds every item the request asked for (every requested id, or the whole node: a page "
           "of a bigger node is not complete). A service that ignores RSM (Prosody 0.12 returns every item, "
           "or ``max_items``, without a result set) is paged here, as the cache pages; if it cut its answer "
           "to ``max_items``, ``index`` and ``count`` are left out and the answer is not complete."),
    Method("PsItemRetract", "plugin",
           (SERVICE, NODE, Arg("item_id", "s", "item to retract", max_length=IDENTIFIER_LENGTH),
            Arg("notify", "b", "ask the service to notify subscribers"), PROFILE),
           "", "Retract (delete) an item."),
    Method("PsSubscribe", "plugin",
           (SERVICE, NODE, Arg("options_json", "s", "subscription options, JSON object"), PROFILE),
           "s", "Subscribe to a node's notifications.", out_doc='subscription id (``""`` if the service gives none)'),
    Method("PsUnsubscribe", "plugin", (SERVICE, NODE, PROFILE), "", "Unsubscribe from a node."),
    *PUBSUB_OWNER_MEMBERS,
    Signal("PsEvent", "plugin",
           (Arg("category", "s", "analyser type (``blog``…) or ``generic``"), SERVICE, NODE,
            Arg("event_type", "s", "``items``, ``retract``, ``purge``, ``delete`` or ``config``"),
            Arg("data_json", "s", '``{"items": [{"id", "xml", "parsed"?}], "retracted": [ids]}``; ``config``: '
                '``"config": {field var: value or [values]}`` too, and in ``retracted`` the cached items '
                "dropped because ``pubsub#max_items`` was lowered"), PROFILE),
           "A pubsub notification for a cached or watched node (emitted after the cache is updated)."),
)
