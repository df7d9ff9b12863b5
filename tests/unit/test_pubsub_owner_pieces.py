"""Pure pieces of the XEP-0060 owner module: answers parsed (malformed entries skipped),
submit forms typed after the service's form, arguments refused."""

from __future__ import annotations

import pytest
from twisted.words.xish import domish
from tx_xmpp import data_form
from tx_xmpp.pubsub import NS_PUBSUB, NS_PUBSUB_NODE_CONFIG, NS_PUBSUB_OWNER

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.pubsub_owner import (
    affiliations_from,
    check_affiliations,
    form_to_json,
    form_values,
    submit_form,
    subscriptions_from,
)


def answer(uri: str, container: str, entries: list[dict[str, str]], **attributes: str) -> domish.Element:
    iq = domish.Element((None, "iq"))
    element = iq.addElement((uri, "pubsub")).addElement(container)
    for name, value in attributes.items():
        element[name] = value
    for entry in entries:
        child = element.addElement(container[:-1])
        for name, value in entry.items():
            child[name] = value
    return iq


def service_form() -> data_form.Form:
    return data_form.Form("form", formNamespace=NS_PUBSUB_NODE_CONFIG, fields=[
        data_form.Field("text-single", "pubsub#title", value="old"),
        data_form.Field("boolean", "pubsub#notify_retract", value="1"),
        data_form.Field("list-single", "pubsub#access_model", value="open",
                        options={"open": None, "whitelist": None}),
        data_form.Field("jid-multi", "pubsub#contact", values=["a@example.org"]),
        data_form.Field("fixed", None, value="a heading"),
    ])


def test_received_form_as_json() -> None:
    result = form_to_json(service_form())
    assert result["values"] == {"pubsub#title": "old", "pubsub#notify_retract": True, "pubsub#access_model": "open",
                                "pubsub#contact": ["a@example.org"]}
    assert result["fields"]["pubsub#access_model"] == {"type": "list-single", "label": "",
                                                       "options": ["open", "whitelist"]}


def test_malformed_field_of_a_received_form_is_skipped() -> None:
    form = service_form()
    form.addField(data_form.Field("boolean", "pubsub#broken", value="perhaps"))
    assert "pubsub#broken" not in form_to_json(form)["values"]


def test_submit_form_typed_after_the_service_form() -> None:
    submit = submit_form(service_form(), {"pubsub#notify_retract": "false", "pubsub#title": 7,
                                          "pubsub#contact": ["b@example.org", "c@example.org"]})
    element = submit.toElement()
    values = {field["var"]: [str(value) for value in field.elements(data_form.NS_X_DATA, "value")]
              for field in element.elements(data_form.NS_X_DATA, "field")}
    assert values == {"FORM_TYPE": [NS_PUBSUB_NODE_CONFIG], "pubsub#notify_retract": ["false"],
                      "pubsub#title": ["7"], "pubsub#contact": ["b@example.org", "c@example.org"]}
    assert element["type"] == "submit"


@pytest.mark.parametrize("options", [
    {"pubsub#nope": "x"}, {"FORM_TYPE": "x"}, {"pubsub#access_model": "closed"}, {"pubsub#title": ["a"]},
    {"pubsub#title": None}, {"pubsub#notify_retract": 2}, {"pubsub#contact": ["not a jid@@"]},
    {"pubsub#title": True},
])
def test_submit_form_refuses(options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        submit_form(service_form(), options)


def test_affiliations_checked() -> None:
    assert {jid.full(): value for jid, value in check_affiliations({"a@example.org": "outcast"}).items()} == {
        "a@example.org": "outcast"}
    for bad in ({}, {"a@example.org": "admin"}, {"@@": "member"}, {"a@example.org": 3}):
        with pytest.raises(InvalidArgument):
            check_affiliations(bad)  # type: ignore[arg-type]


def test_affiliations_parsed_malformed_skipped() -> None:
    owner = answer(NS_PUBSUB_OWNER, "affiliations", [
        {"jid": "a@example.org", "affiliation": "owner"}, {"jid": "b@example.org", "affiliation": "emperor"},
        {"affiliation": "member"}])
    assert affiliations_from(owner, NS_PUBSUB_OWNER, "jid") == {"a@example.org": "owner"}
    own = answer(NS_PUBSUB, "affiliations", [{"node": "n1", "affiliation": "publisher"}, {"node": "n2"}])
    assert affiliations_from(own, NS_PUBSUB, "node") == {"n1": "publisher"}
    assert affiliations_from(domish.Element((None, "iq")), NS_PUBSUB, "node") == {}


def test_subscriptions_parsed_node_from_container() -> None:
    parsed = subscriptions_from(answer(NS_PUBSUB_OWNER, "subscriptions", [
        {"jid": "a@example.org", "subscription": "subscribed", "subid": "s1"},
        {"jid": "b@example.org", "subscription": "pending", "node": "other"},
        {"jid": "c@example.org"}], node="n"), NS_PUBSUB_OWNER, "")
    assert parsed == [{"node": "n", "jid": "a@example.org", "subscription": "subscribed", "subid": "s1"},
                      {"node": "other", "jid": "b@example.org", "subscription": "pending"}]


def test_notification_form_read_as_sent() -> None:
    """A configuration notification's form: values as sent (a boolean stays its text), an
    untyped field with several values is a list, one without a value None."""
    form = data_form.Form("result", formNamespace=NS_PUBSUB_NODE_CONFIG, fields=[
        data_form.Field(None, "pubsub#title", value="Mine"),
        data_form.Field(None, "pubsub#roster_groups_allowed", values=["friends", "family"]),
        data_form.Field("boolean", "pubsub#notify_retract", value="1"),
        data_form.Field("text-multi", "pubsub#description", values=["one line"]),
        data_form.Field(None, "pubsub#empty"),
    ])
    assert form_values(form.toElement()) == {
        "pubsub#title": "Mine", "pubsub#roster_groups_allowed": ["friends", "family"],
        "pubsub#notify_retract": "true", "pubsub#description": ["one line"], "pubsub#empty": None}
    with pytest.raises(data_form.Error):
        form_values(domish.Element((NS_PUBSUB_NODE_CONFIG, "x")))
