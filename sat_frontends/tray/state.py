"""What the tray knows of the backend, and what it shows from it (pure: unit-tested
without a bus): profiles and their connection, our chosen presence, unread counts,
recent conversations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sat_frontends.tray.menu import PRESENCES, Conversation
from sat_frontends.tray.notifications import Key
from sat_frontends.tray.reactions import OwnTexts
from sat_frontends.tray.sni import ItemLook

#: recent conversations remembered (the menu shows fewer)
RECENT_KEPT = 20
#: the last message text kept per conversation, for its notification
TEXT_KEPT = 1000


def bare(jid: str) -> str:
    return jid.split("/", 1)[0]


def first_text(by_lang: dict[str, str]) -> str:
    return by_lang.get("") or next(iter(by_lang.values()), "")


@dataclass
class TrayState:
    backend_running: bool = False
    #: profile → connected
    profiles: dict[str, bool] = field(default_factory=dict)
    #: profile → its bare JID
    own_jids: dict[str, str] = field(default_factory=dict)
    #: what the user chose in the menu: ``available``, ``away``, ``dnd`` or ``offline``
    presence: str = "offline"
    unread: dict[Key, int] = field(default_factory=dict)
    #: most recent first
    recent: list[Key] = field(default_factory=list)
    last_text: dict[Key, str] = field(default_factory=dict)
    #: our messages' texts, quoted when someone reacts to them
    own_texts: OwnTexts = field(default_factory=OwnTexts)

    def backend_gone(self) -> None:
        self.backend_running = False
        self.profiles.clear()

    def set_unread(self, key: Key, count: int) -> None:
        if count > 0:
            self.unread[key] = count
            self.touch(key)
        else:
            self.unread.pop(key, None)

    def touch(self, key: Key) -> None:
        if key in self.recent:
            self.recent.remove(key)
        self.recent.insert(0, key)
        del self.recent[RECENT_KEPT:]

    def message(self, profile: str, sender: str, recipient: str, bodies: dict[str, str],
                uid: str = "") -> Key | None:
        """A ``MessageNew``: remembered in recent conversations (ours: its text too, for
        reactions to it); returns the key of a message from the other end (whose text a
        notification may show), else None."""
        own = self.own_jids.get(profile)
        sender, recipient = bare(sender), bare(recipient)
        if own is not None and sender == own:
            self.sent((profile, recipient), bodies, uid)
            return None
        key = (profile, sender)
        self.received(key, bodies)
        return key

    def sent(self, key: Key, bodies: dict[str, str], uid: str = "") -> None:
        """We wrote in a conversation (1:1 or room): its text is kept for reactions to it."""
        self.touch(key)
        if uid:
            self.own_texts.add(uid, first_text(bodies))

    def received(self, key: Key, bodies: dict[str, str]) -> None:
        """The other end (a contact, a room's occupant) wrote: its text, for a notification."""
        self.touch(key)
        self.last_text[key] = first_text(bodies)[:TEXT_KEPT]
        if len(self.last_text) > RECENT_KEPT * 4:
            for old in [k for k in self.last_text if k not in self.recent]:
                del self.last_text[old]

    def conversations(self) -> list[Conversation]:
        return [Conversation(profile, jid, self.unread.get((profile, jid), 0)) for profile, jid in self.recent]

    def total_unread(self) -> int:
        return sum(self.unread.values())

    def look(self) -> ItemLook:
        """Icon, status and tooltip: presence, then unread messages."""
        total = self.total_unread()
        labels = dict(PRESENCES)
        if not self.backend_running:
            return ItemLook("Passive", "sat-tray-offline", "SàT", "SàT backend not running")
        connected = sorted(profile for profile, online in self.profiles.items() if online)
        lines = [labels.get(self.presence, self.presence)
                 + (f" ({', '.join(connected)})" if connected else "")]
        if total:
            lines.append("1 unread message" if total == 1 else f"{total} unread messages")
        status = "NeedsAttention" if total else ("Passive" if self.presence == "offline" else "Active")
        return ItemLook(status, f"sat-tray-{self.presence}", "SàT", "\n".join(lines))
