"""Reading and writing param values: validation, encryption of secrets, change signal.

Passwords are encrypted with the backend's :class:`SecretBox` before they reach the
database, bound to their profile and param so a token cannot be moved elsewhere, and
never come back out through the bridge (``PermissionDenied``) nor in ``ParamUpdate``.

Non-secret values are kept in memory once read (:class:`ParamCache`): the pubsub cache
asks ``Pubsub/UseCache`` on every read, and a database round trip cost more than many
cached reads. One backend process owns the database and every write goes through
:meth:`ParamValues.set` or :class:`~sat_backend.core.profiles.ProfileManager`, so
dropping entries in process on those writes is enough to never serve a stale value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from sat_backend.core.exceptions import PermissionDenied
from sat_backend.core.params import ParamDefinition, ParamsRegistry

if TYPE_CHECKING:
    from sat_backend.core.secrets import SecretBox
    from sat_backend.memory.sqla import Storage

log = logging.getLogger(__name__)

#: called after a value changed: (name, value or "" for secrets, category, profile)
ChangeListener = Callable[[str, str, str, str], None]


#: (category, name, profile or None for a general param)
CacheKey = tuple[str, str, str | None]


class ParamCache:
    """Stored values (``None``: never set) of non-secret params, as the database has them.

    A read that was in flight while something was invalidated must not put its possibly
    older answer back: readers take :attr:`generation` before asking the database and
    :meth:`put` ignores them when it changed since. Size is bounded by declared params
    times profiles, so nothing is evicted.
    """

    def __init__(self) -> None:
        self._values: dict[CacheKey, str | None] = {}
        self.generation = 0

    def lookup(self, key: CacheKey) -> tuple[bool, str | None]:
        """(found, stored value)."""
        if key in self._values:
            return True, self._values[key]
        return False, None

    def put(self, key: CacheKey, value: str | None, generation: int) -> None:
        if generation == self.generation:
            self._values[key] = value

    def invalidate(self, key: CacheKey) -> None:
        self.generation += 1
        self._values.pop(key, None)

    def forget_profile(self, profile: str) -> None:
        """Drop every value of a profile (deleted, or its creation rolled back)."""
        self.generation += 1
        for key in [key for key in self._values if key[2] == profile]:
            del self._values[key]


class ParamValues:
    """Typed access to stored param values for the core and plugins."""

    def __init__(
        self,
        registry: ParamsRegistry,
        storage: Storage,
        secrets: SecretBox,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.registry = registry
        self.storage = storage
        self.secrets = secrets
        self.on_change = on_change
        self.cache = ParamCache()

    async def get_public(self, category: str, name: str, profile: str) -> str:
        """Value for a frontend: the stored or default value, never a secret.

        :raises PermissionDenied: the param is a password.
        """
        definition = self.registry.get(category, name)
        if definition.is_secret:
            raise PermissionDenied(f"{category}/{name} is a password and cannot be read back")
        return await self._get(definition, profile)

    async def get_secret(self, category: str, name: str, profile: str) -> str:
        """Decrypted value of a password param, for the backend's own use (login)."""
        definition = self.registry.get(category, name)
        token = await self.storage.get_param(category, name, self._scope_profile(definition, profile))
        if not token:
            return ""
        return self.secrets.decrypt(token, secret_context(profile, definition))

    async def set(self, category: str, name: str, value: str, profile: str) -> None:
        """Validate and store a value, then notify listeners.

        :raises InvalidArgument: unknown param or invalid value.
        """
        definition = self.registry.get(category, name)
        canonical = self.registry.normalise(definition, value)
        stored = canonical
        if definition.is_secret:
            stored = self.secrets.encrypt(canonical, secret_context(profile, definition))
        scope_profile = self._scope_profile(definition, profile)
        try:
            await self.storage.set_param(category, name, stored, scope_profile)
        finally:  # even when it failed: the write may have happened before the error
            self.cache.invalidate((category, name, scope_profile))
        log.debug("param %s/%s of profile %s changed", category, name, profile)
        if self.on_change is not None:
            self.on_change(name, "" if definition.is_secret else canonical, category, profile)

    async def describe_all(self, profile: str) -> list[dict[str, Any]]:
        """Every declared param with its current value (``None`` for passwords)."""
        stored = await self.storage.get_profile_params(profile)
        described = []
        for definition in self.registry:
            entry = definition.describe()
            if definition.is_secret:
                entry["value"] = None
                entry["is_set"] = bool(stored.get(definition.key))
            else:
                entry["value"] = await self._get(definition, profile)
            described.append(entry)
        return described

    def forget_profile(self, profile: str) -> None:
        """Called when a profile's rows are deleted: its cached values must go too."""
        self.cache.forget_profile(profile)

    async def _get(self, definition: ParamDefinition, profile: str) -> str:
        """Stored or default value of a non-secret param (secrets never reach the cache)."""
        assert not definition.is_secret
        key = (definition.category, definition.name, self._scope_profile(definition, profile))
        found, value = self.cache.lookup(key)
        if not found:
            generation = self.cache.generation
            value = await self.storage.get_param(*key)
            self.cache.put(key, value, generation)
        return definition.default if value is None else value

    @staticmethod
    def _scope_profile(definition: ParamDefinition, profile: str) -> str | None:
        return None if definition.scope == "general" else profile


def secret_context(profile: str, definition: ParamDefinition) -> str:
    """Associated data binding an encrypted value to its profile and param."""
    return f"{profile}\0{definition.category}/{definition.name}"
