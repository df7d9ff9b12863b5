"""The tray menu as data: items with stable ids, built from the tray's state.

:mod:`sat_frontends.tray.dbusmenu` serves it over ``com.canonical.dbusmenu``; keeping
the model apart lets unit tests check what the user sees without a bus. Item ids are
stable per meaning (``presence:away`` keeps its id across rebuilds), as dbusmenu hosts
remember ids between a ``GetLayout`` and the ``Event`` of a click.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

#: show values of ``PresenceSet`` offered in the menu, with their labels; "offline"
#: disconnects every profile instead
PRESENCES: tuple[tuple[str, str], ...] = (
    ("available", "Available"), ("away", "Away"), ("dnd", "Do not disturb"), ("offline", "Offline"),
)
#: how many recent conversations the menu lists
RECENT_SHOWN = 8
#: a label is cut to this many characters (a JID may be 3071)
LABEL_LENGTH = 60

Action = Callable[[], Any]


@dataclass
class MenuItem:
    """One entry; ``properties`` are dbusmenu's (``label``, ``type``, ``toggle-type``…)."""

    key: str
    properties: dict[str, Any] = field(default_factory=dict)
    children: list[MenuItem] = field(default_factory=list)
    action: Action | None = None


def label(text: str) -> str:
    """A menu label: bounded, and without ``_`` read as a mnemonic by dbusmenu hosts."""
    text = text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"
    return text.replace("_", "__")


def entry(key: str, text: str, action: Action | None = None, **properties: Any) -> MenuItem:
    return MenuItem(key, {"label": label(text), **properties}, action=action)


def separator(key: str) -> MenuItem:
    return MenuItem(key, {"type": "separator"})


class IdRegistry:
    """Stable integer ids for item keys (0 is the root, as dbusmenu wants)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {"root": 0}

    def id_of(self, key: str) -> int:
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._ids)
        return found


@dataclass(frozen=True)
class Conversation:
    """A conversation listed in the menu: profile, bare JID of the other end, unread count."""

    profile: str
    jid: str
    unread: int = 0


@dataclass
class MenuModel:
    """What the menu shows, and what its entries do (callbacks given by the tray)."""

    presence: str
    profiles: dict[str, bool]
    recent: list[Conversation]
    set_presence: Callable[[str], Any]
    toggle_profile: Callable[[str, bool], Any]
    open_conversation: Callable[[Conversation], Any]
    quit: Action
    backend_running: bool = True

    def build(self) -> MenuItem:
        items: list[MenuItem] = []
        if not self.backend_running:
            items += [entry("backend:absent", "SàT backend not running", enabled=False), separator("separator:backend")]
        for show, text in PRESENCES:
            items.append(entry(
                f"presence:{show}", text, partial(self.set_presence, show),
                **{"toggle-type": "radio", "toggle-state": 1 if show == self.presence else 0},
            ))
        items.append(separator("separator:profiles"))
        for profile, connected in sorted(self.profiles.items()):
            items.append(entry(
                f"profile:{profile}", f"{'Disconnect' if connected else 'Connect'} {profile}",
                partial(self.toggle_profile, profile, connected),
            ))
        if self.recent:
            items.append(separator("separator:recent"))
            for conversation in self.recent[:RECENT_SHOWN]:
                text = conversation.jid + (f" ({conversation.unread})" if conversation.unread else "")
                items.append(entry(
                    f"conversation:{conversation.profile}:{conversation.jid}", text,
                    partial(self.open_conversation, conversation),
                ))
        items.append(separator("separator:quit"))
        items.append(entry("quit", "Quit", self.quit))
        return MenuItem("root", {"children-display": "submenu"}, items)


def find(root: MenuItem, registry: IdRegistry, item_id: int) -> MenuItem | None:
    """The item of ``root``'s tree with this id."""
    if registry.id_of(root.key) == item_id:
        return root
    for child in root.children:
        found = find(child, registry, item_id)
        if found is not None:
            return found
    return None
