"""Profiles: one per XMPP account, named by the user; the default profile alias ``""``."""

from __future__ import annotations

import logging
import unicodedata
from typing import TYPE_CHECKING, Any, Callable

from sat_backend.core.json_arguments import parse_json_object
from sat_backend.core.exceptions import Conflict, InvalidArgument, ProfileUnknown
from sat_backend.core.jids import parse_bare_jid

if TYPE_CHECKING:
    from sat_backend.core.param_values import ParamValues
    from sat_backend.memory.sqla import Storage

log = logging.getLogger(__name__)

MAX_PROFILE_NAME = 64
_PRIVATE_NAMESPACE = "core"
_DEFAULT_PROFILE_KEY = "default_profile"

#: ProfileCreate option → (category, name) of the param it fills
PROFILE_OPTIONS: dict[str, tuple[str, str]] = {
    "host": ("Connection", "Host"),
    "port": ("Connection", "Port"),
    "tls": ("Connection", "TLS"),
    "autoconnect": ("Connection", "Autoconnect"),
    "ca_file": ("Connection", "CAFile"),
}


def validate_profile_name(name: str) -> str:
    """:raises InvalidArgument: empty, too long, ``/``, control or unassigned characters."""
    if not name or not name.strip():
        raise InvalidArgument("a profile name cannot be empty")
    if len(name) > MAX_PROFILE_NAME:
        raise InvalidArgument(f"a profile name has at most {MAX_PROFILE_NAME} characters")
    if name != name.strip():
        raise InvalidArgument("a profile name cannot start or end with spaces")
    for char in name:
        if char in "/\\" or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise InvalidArgument(f"a profile name cannot contain {char!r}")
    return name


def parse_profile_options(options_json: str) -> dict[str, str]:
    """ProfileCreate's ``options_json`` → param values as strings.

    :raises InvalidArgument: not a JSON object, unknown key or wrong value type.
    """
    options = parse_json_object(options_json, "options_json", PROFILE_OPTIONS)
    values: dict[str, str] = {}
    for key, value in options.items():
        if key == "autoconnect" and isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif key == "port" and isinstance(value, int) and not isinstance(value, bool):
            values[key] = str(value)
        elif key in ("host", "tls", "ca_file", "port") and isinstance(value, str):
            values[key] = value
        else:
            raise InvalidArgument(f"option {key!r} has the wrong type ({type(value).__name__})")
    return values


class ProfileManager:
    """Creation, deletion and lookup of profiles, including which one is the default."""

    def __init__(self, storage: Storage, params: ParamValues) -> None:
        self.storage = storage
        self.params = params
        #: called with the name of each profile deleted: what a plugin keeps in memory for
        #: a profile must not pass to a new profile of the same name
        self.deletion_listeners: list[Callable[[str], None]] = []

    async def list(self) -> list[str]:
        return await self.storage.list_profiles()

    async def resolve(self, name: str) -> str:
        """Real name of ``name``; ``""`` is the default profile.

        :raises ProfileUnknown: no such profile, or no profile at all for ``""``.
        """
        if name == "":
            default = await self.default()
            if default is None:
                raise ProfileUnknown("no profile exists yet: create one first")
            return default
        if not await self.storage.has_profile(name):
            raise ProfileUnknown(f"there is no profile named {name!r}")
        return name

    async def default(self) -> str | None:
        chosen = await self.storage.get_private(_PRIVATE_NAMESPACE, _DEFAULT_PROFILE_KEY)
        profiles = await self.storage.list_profiles()
        if isinstance(chosen, str) and chosen in profiles:
            return chosen
        return profiles[0] if profiles else None

    async def create(self, name: str, jid: str, password: str, options_json: str) -> None:
        """Validate everything first, then create the profile and its params.

        Nothing is stored when any argument is invalid; if storing a param fails after
        the profile row exists, the profile is removed again so no half profile remains.
        """
        validate_profile_name(name)
        bare_jid = parse_bare_jid(jid, "jid")
        values = {
            PROFILE_OPTIONS[key]: value for key, value in parse_profile_options(options_json).items()
        }
        values[("Connection", "JabberID")] = bare_jid
        for (category, param), value in values.items():
            definition = self.params.registry.get(category, param)
            self.params.registry.normalise(definition, value)
        if await self.storage.get_profile(name) is not None:
            raise Conflict(f"a profile named {name!r} already exists")
        await self.storage.create_profile(name)
        try:
            for (category, param), value in values.items():
                await self.params.set(category, param, value, name)
            if password:
                await self.params.set("Connection", "Password", password, name)
        except BaseException:
            await self._delete_rows(name)
            raise
        if await self.storage.get_private(_PRIVATE_NAMESPACE, _DEFAULT_PROFILE_KEY) is None:
            await self.storage.set_private(_PRIVATE_NAMESPACE, _DEFAULT_PROFILE_KEY, name)
        log.info("profile %s created for %s", name, bare_jid)

    async def delete(self, name: str) -> None:
        """:raises ProfileUnknown: no such profile (the ``""`` alias is refused too)."""
        if name == "":
            raise InvalidArgument('ProfileDelete needs an explicit profile name, not ""')
        if await self.storage.get_profile(name) is None:
            raise ProfileUnknown(f"there is no profile named {name!r}")
        try:
            await self._delete_rows(name)
        finally:  # (also when it failed: the deletion may have happened before the error)
            for listener in self.deletion_listeners:
                listener(name)
        if await self.storage.get_private(_PRIVATE_NAMESPACE, _DEFAULT_PROFILE_KEY) == name:
            await self.storage.delete_private(_PRIVATE_NAMESPACE, _DEFAULT_PROFILE_KEY)
        log.info("profile %s deleted", name)

    async def _delete_rows(self, name: str) -> None:
        """Delete the profile and everything it owns, then its cached param values (also
        when the deletion failed: it may have happened before the error)."""
        try:
            await self.storage.delete_profile(name)
        finally:
            self.params.forget_profile(name)
