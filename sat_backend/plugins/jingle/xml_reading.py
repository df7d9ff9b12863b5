"""Reading untrusted Jingle XML (``domish`` elements from the stream) with bounds: child
lists are counted while they are walked, attributes are required or optional by name, and
errors name the element and attribute, never a value."""

from __future__ import annotations

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.model import parse_int


def children(parent: domish.Element, namespace: str, name: str, limit: int) -> list[domish.Element]:
    """``parent``'s ``<name xmlns=namespace/>`` children, in order; at most ``limit``.

    :raises InvalidArgument: more than ``limit`` (the walk stops at the first one over).
    """
    found = []
    for child in parent.elements(namespace, name):
        found.append(child)
        if len(found) > limit:
            raise InvalidArgument(f"more than {limit} <{name}/> elements")
    return found


def first_child(parent: domish.Element, namespace: str, name: str) -> domish.Element | None:
    """``parent``'s first ``<name xmlns=namespace/>`` child, if any."""
    return next(iter(parent.elements(namespace, name)), None)


def required(element: domish.Element, attribute: str) -> str:
    """The value of ``attribute``; refused when absent or empty."""
    value = element.getAttribute(attribute)
    if not value:
        raise InvalidArgument(f"<{element.name}/> has no {attribute}")
    return str(value)


def optional(element: domish.Element, attribute: str) -> str | None:
    """The value of ``attribute``, None when absent."""
    value = element.getAttribute(attribute)
    return None if value is None else str(value)


def number(element: domish.Element, attribute: str, high: int, low: int = 0) -> int:
    """A required decimal attribute in ``[low, high]``."""
    return parse_int(required(element, attribute), low, high, f"{attribute} of <{element.name}/>")


def optional_number(element: domish.Element, attribute: str, high: int, low: int = 0) -> int | None:
    """An optional decimal attribute in ``[low, high]``."""
    value = optional(element, attribute)
    return None if value is None else parse_int(value, low, high, f"{attribute} of <{element.name}/>")


def text_of(element: domish.Element, limit: int) -> str:
    """The character data of ``element`` (without its children's), stripped, at most
    ``limit`` characters."""
    text = "".join(child for child in element.children if isinstance(child, str)).strip()
    if len(text) > limit:
        raise InvalidArgument(f"the text of <{element.name}/> is longer than {limit} characters")
    return text
