"""XEP-0060 (v1.26) owner use cases (§8: node configuration, affiliations, subscriptions)
and the entity's own subscriptions and affiliations (§5.6, §5.7).

tx-xmpp's client has no calls for these (its ``getConfigurationOptions``, ``getAffiliations``…
are on the *service* side), so the requests are built with its ``PubSubRequest`` verbs and
the answers are parsed here, at the edge, into plain dicts for the bridge. Not a plugin
module (no ``plugin_`` prefix): the XEP-0060 plugin registers these members.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish

from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.exceptions import InvalidArgument, Stanza
from sat_backend.core.jids import parse_jid
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.plugins.tx_xmpp_modules import data_form
from sat_backend.plugins.tx_xmpp_modules import pubsub as tx_pubsub

if TYPE_CHECKING:
    from sat_backend.plugins.plugin_xep_0060 import Pubsub

log = logging.getLogger(__name__)

#: XEP-0060 §4.1 affiliations ("none" removes one when setting)
AFFILIATIONS = ("owner", "publisher", "publish-only", "member", "none", "outcast")
MULTI_VALUE_TYPES = ("jid-multi", "list-multi", "text-multi")


class PubsubOwner:
    """The ``PsNode{Configuration,Affiliations,Subscriptions}*``, ``PsSubscriptionsGet`` and
    ``PsAffiliationsGet`` members, sent with the plugin's :meth:`Pubsub.request`."""

    def __init__(self, pubsub: Pubsub) -> None:
        self.pubsub = pubsub

    async def _configuration_form(self, service: str, node: str, profile: str) -> data_form.Form:
        answer = await self.pubsub.request("configureGet", service, node, profile, "configuration of")
        form = data_form.findForm(_child(_child(answer, tx_pubsub.NS_PUBSUB_OWNER, "pubsub"), tx_pubsub.NS_PUBSUB_OWNER, "configure"),
                                  tx_pubsub.NS_PUBSUB_NODE_CONFIG)
        if form is None:
            raise Stanza(f"undefined-condition: the configuration of {node!r} came without a form")
        return form

    async def configuration_get(self, service: str, node: str, profile: str) -> str:
        """``PsNodeConfigurationGet``: ``{"values": {field: value}, "fields": {field: {type, label, options?}}}``."""
        return json.dumps(form_to_json(await self._configuration_form(service, node, profile)))

    async def configuration_set(self, service: str, node: str, options_json: str, profile: str) -> None:
        """``PsNodeConfigurationSet``. The current form is read first: it gives the field types
        (booleans, multi-valued fields) and lets an unknown field or option be refused as
        ``InvalidArgument`` instead of a ``bad-request`` from the service."""
        options = parse_json_object(options_json, "options_json")
        if not options:
            raise InvalidArgument("options_json is empty: nothing to configure")
        current = await self._configuration_form(service, node, profile)
        await self.pubsub.request("configureSet", service, node, profile, "configuring of",
                                  options=submit_form(current, options))

    async def affiliations_get(self, service: str, node: str, profile: str) -> dict[str, str]:
        """``PsNodeAffiliationsGet`` (owner, §8.9.1): every entity affiliated with the node."""
        answer = await self.pubsub.request("affiliationsGet", service, node, profile, "affiliations of")
        return affiliations_from(answer, tx_pubsub.NS_PUBSUB_OWNER, "jid")

    async def affiliations_set(self, service: str, node: str, affiliations: dict[str, str], profile: str) -> None:
        """``PsNodeAffiliationsSet`` (owner, §8.9.2); ``"none"`` removes an affiliation."""
        checked = check_affiliations(affiliations)
        await self.pubsub.request("affiliationsSet", service, node, profile, "setting affiliations of",
                                  affiliations=checked)

    async def node_subscriptions_get(self, service: str, node: str, profile: str) -> str:
        """``PsNodeSubscriptionsGet`` (owner, §8.8.1): JSON list of ``{"jid", "subscription", "subid"?}``."""
        answer = await self.pubsub.request("subscriptionsGet", service, node, profile, "subscriptions of")
        return json.dumps(subscriptions_from(answer, tx_pubsub.NS_PUBSUB_OWNER, node))

    async def subscriptions_get(self, service: str, node: str, profile: str) -> str:
        """``PsSubscriptionsGet`` (entity, §5.6): our subscriptions, on ``node`` or (``""``) all."""
        answer = await self.pubsub.request("subscriptions", service, node, profile, "our subscriptions of",
                                           optional_node=True)
        return json.dumps(subscriptions_from(answer, tx_pubsub.NS_PUBSUB, node))

    async def affiliations_own_get(self, service: str, node: str, profile: str) -> dict[str, str]:
        """``PsAffiliationsGet`` (entity, §5.7): node → our affiliation, on ``node`` or (``""``) all."""
        answer = await self.pubsub.request("affiliations", service, node, profile, "our affiliations of",
                                           optional_node=True)
        return affiliations_from(answer, tx_pubsub.NS_PUBSUB, "node", default_key=node)


# parsing and building, pure ------------------------------------------------------------------


def _child(element: domish.Element | None, uri: str, name: str) -> domish.Element | None:
    if element is None:
        return None
    return next(element.elements(uri, name), None)


def field_value(field: data_form.Field, kind: str | None = None) -> Any:
    """A received field's value as JSON: a list for a multi-value ``kind`` (by default the
    field's type; an untyped field with several values too, as tx-xmpp's ``Form`` reads
    it), else its value or None. Booleans stay booleans; JIDs and anything else become
    strings."""
    values = [value if isinstance(value, bool) else value.full() if isinstance(value, JID) else str(value)
              for value in field.values]
    kind = kind or field.fieldType
    if kind in MULTI_VALUE_TYPES or (kind is None and len(values) > 1):
        return values
    return values[0] if values else None


def form_values(element: domish.Element) -> dict[str, Any]:
    """A received data form's fields as ``{var: value}``, values as sent (not type-checked):
    what a configuration notification (XEP-0060 §4.3) carries.

    :raises data_form.Error: ``element`` is not a data form.
    """
    form = data_form.Form.fromElement(element)
    return {str(var): field_value(field) for var, field in form.fields.items()}


def form_to_json(form: data_form.Form) -> dict[str, Any]:
    """A received configuration form as JSON: values (booleans typed, JIDs as strings) and
    field descriptions. Fields whose values do not match their type are logged and skipped."""
    values: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for field in form.fieldList:
        if not field.var or field.var == "FORM_TYPE" or field.fieldType == "fixed":
            continue
        try:
            field.typeCheck()
        except (ValueError, InvalidFormat, data_form.Error) as exc:
            log.warning("configuration field %r skipped: %s", field.var, exc)
            continue
        kind = field.fieldType or "text-single"  # XEP-0004: a field without a type is text-single
        values[field.var] = field_value(field, kind)
        description: dict[str, Any] = {"type": kind, "label": field.label or ""}
        if field.options:
            description["options"] = [option.value for option in field.options]
        fields[field.var] = description
    return {"values": values, "fields": fields}


def _field_values(field: data_form.Field, value: Any) -> list[Any]:
    """``value`` for ``field`` as the form's values; :raises InvalidArgument: wrong shape or option."""
    name = field.var
    kind = field.fieldType or "text-single"
    if kind == "boolean":
        if isinstance(value, bool):
            return [value]
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return [value.lower() in ("true", "1")]
        raise InvalidArgument(f"{name} is a boolean: give true or false")
    if isinstance(value, list):
        if kind not in MULTI_VALUE_TYPES:
            raise InvalidArgument(f"{name} takes one value, not a list")
        values = value
    else:
        values = [value]
    checked: list[Any] = []
    for item in values:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise InvalidArgument(f"{name}: values must be strings (or integers)")
        if kind in ("jid-single", "jid-multi"):
            checked.append(parse_jid(item, name))
            continue
        options = [option.value for option in field.options]
        if kind in ("list-single", "list-multi") and options and item not in options:
            raise InvalidArgument(f"{name}: {item!r} is not one of {', '.join(options)}")
        checked.append(item)
    return checked


def submit_form(current: data_form.Form, options: dict[str, Any]) -> data_form.Form:
    """A submit form setting ``options``, typed after the service's form ``current`` (whose
    ``FORM_TYPE`` it keeps: node configuration, room configuration…).

    :raises InvalidArgument: a field the service does not offer, or a bad value.
    """
    submit = data_form.Form("submit", formNamespace=current.formNamespace or tx_pubsub.NS_PUBSUB_NODE_CONFIG)
    for name, value in options.items():
        field = current.fields.get(name)
        if field is None or name == "FORM_TYPE" or field.fieldType == "fixed":
            offered = ", ".join(sorted(var for var in current.fields if var != "FORM_TYPE"))
            raise InvalidArgument(f"the service offers no configuration field {name!r} (offered: {offered})")
        submit.addField(data_form.Field(field.fieldType, name, values=_field_values(field, value)))
    return submit


def check_affiliations(affiliations: dict[str, str]) -> dict[JID, str]:
    """``{jid: affiliation}`` from the bridge, checked.

    :raises InvalidArgument: empty, a bad JID or an unknown affiliation.
    """
    if not affiliations:
        raise InvalidArgument("affiliations is empty: nothing to set")
    checked: dict[JID, str] = {}
    for entity, affiliation in affiliations.items():
        if not isinstance(entity, str) or not isinstance(affiliation, str):
            raise InvalidArgument("affiliations must map JID strings to affiliation strings")
        if affiliation not in AFFILIATIONS:
            raise InvalidArgument(f"{affiliation!r} is not an affiliation (one of {', '.join(AFFILIATIONS)})")
        checked[parse_jid(entity, "affiliations")] = affiliation
    return checked


def affiliations_from(answer: domish.Element, uri: str, key: str, default_key: str = "") -> dict[str, str]:
    """``<affiliations/>`` of an answer as ``{jid or node: affiliation}``; malformed entries are
    logged and skipped (the answer comes from the network)."""
    container = _child(_child(answer, uri, "pubsub"), uri, "affiliations")
    result: dict[str, str] = {}
    for element in container.elements(uri, "affiliation") if container is not None else ():
        name = element.getAttribute(key, default_key)
        affiliation = element.getAttribute("affiliation", "")
        if not name or affiliation not in AFFILIATIONS:
            log.warning("malformed affiliation skipped: %s", element_xml(element)[:200])
            continue
        result[str(name)] = str(affiliation)
    return result


def subscriptions_from(answer: domish.Element, uri: str, node: str) -> list[dict[str, str]]:
    """``<subscriptions/>`` of an answer as a list of ``{"node", "jid", "subscription", "subid"?}``;
    entries without a JID or state are logged and skipped."""
    container = _child(_child(answer, uri, "pubsub"), uri, "subscriptions")
    default_node = container.getAttribute("node", node) if container is not None else node
    result: list[dict[str, str]] = []
    for element in container.elements(uri, "subscription") if container is not None else ():
        entity, state = element.getAttribute("jid"), element.getAttribute("subscription")
        if not entity or not state:
            log.warning("malformed subscription skipped: %s", element_xml(element)[:200])
            continue
        entry = {"node": str(element.getAttribute("node", default_node)), "jid": str(entity),
                 "subscription": str(state)}
        if element.getAttribute("subid"):
            entry["subid"] = str(element["subid"])
        result.append(entry)
    return result
