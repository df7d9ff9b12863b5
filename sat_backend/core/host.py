"""The backend host: owns storage, params, profiles, triggers and plugins, and serves
the core bridge members.

Start-up order matters: storage is created or migrated first, then plugins load (they
may declare params and bridge members), and only then does the bridge take the bus
name, so a frontend (or a D-Bus activated call) never reaches a half-started backend.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sat_backend import __version__
from sat_backend.core import plugin_loader
from sat_backend.core.config import Config
from sat_backend.core.param_values import ParamValues
from sat_backend.core.params import ParamsRegistry
from sat_backend.core.profiles import ProfileManager
from sat_backend.core.im.messaging import Messaging
from sat_backend.core.im.presence import PresenceService
from sat_backend.core.im.roster import RosterService
from sat_backend.core.secrets import SecretBox
from sat_backend.core.sessions import SessionManager
from sat_backend.core.triggers import TriggerManager
from sat_backend.memory.sqla import Storage
from sat_bridge.dispatch import BridgeDispatcher

log = logging.getLogger(__name__)


class Backend:
    """One running backend: everything a plugin reaches through ``host``."""

    def __init__(self, config: Config, bridge: BridgeDispatcher) -> None:
        self.config = config
        self.bridge = bridge
        self.storage = Storage(config.database_url)
        self.triggers = TriggerManager()
        self.params_registry = ParamsRegistry.with_core_params()
        self.plugins: dict[str, Any] = {}
        self.sessions = SessionManager(self)
        self.messaging = Messaging(self)
        self.presence = PresenceService(self)
        self.roster = RosterService(self)
        self._ready: asyncio.Event | None = None
        self.params: ParamValues
        self.profiles: ProfileManager

    @property
    def ready(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def start(self) -> None:
        """Initialise storage, secrets and plugins, then take the bus name.

        :raises Database: the database is unusable (the message says why).
        :raises Conflict: another backend already owns the bus name.
        """
        await self.storage.initialise()
        secrets = SecretBox.load_or_create(self.config.secret_key_file)
        self.params = ParamValues(self.params_registry, self.storage, secrets, self._on_param_change)
        self.profiles = ProfileManager(self.storage, self.params)
        self._register_core_members()
        self.storage.disk.listen(self._on_disk_full_change)
        self.sessions.add_handler_factory(self.presence.make_handler)
        self.sessions.add_handler_factory(self.roster.make_handler)
        self.sessions.add_session_starter(self.roster.start_session)
        self.sessions.add_handler_factory(self.messaging.make_handler)
        await self._load_plugins()
        await self.bridge.start()
        self.ready.set()
        log.info("SàT backend %s ready", __version__)
        self._autoconnect = asyncio.ensure_future(self.sessions.autoconnect())

    async def stop(self) -> None:
        await self.sessions.disconnect_all()
        for import_name, plugin in reversed(list(self.plugins.items())):
            stop = getattr(plugin, "stop", None)
            if stop is not None:
                try:
                    await stop()
                except Exception:  # noqa: BLE001 - keep stopping the others
                    log.exception("plugin %s failed to stop", import_name)
        await self.bridge.stop()
        await self.storage.close()

    # plugins -------------------------------------------------------------------

    async def _load_plugins(self) -> None:
        found = [
            info
            for info in plugin_loader.discover(extra_dirs=self.config.plugin_dirs)
            if info.import_name not in self.config.plugins_disabled
        ]
        ordered, rejected = plugin_loader.load_order(found)
        for import_name, reason in rejected.items():
            log.error("plugin %s not loaded: %s", import_name, reason)
        for info in ordered:
            try:
                plugin = plugin_loader.instantiate(info, self)
                initialise = getattr(plugin, "initialise", None)
                if initialise is not None:
                    await initialise()
            except Exception:  # noqa: BLE001 - one broken plugin must not stop the backend
                log.exception("plugin %s failed to load", info.import_name)
                continue
            self.plugins[info.import_name] = plugin
            log.debug("plugin %s loaded", info.import_name)

    # core bridge members ----------------------------------------------------------

    def _register_core_members(self) -> None:
        register = self.bridge.register_method
        register("GetVersion", self.get_version)
        register("GetReady", self.get_ready)
        register("ProfilesList", self.profiles_list)
        register("ProfileCreate", self.profile_create)
        register("ProfileDelete", self.profile_delete)
        register("ParamGet", self.param_get)
        register("ParamSet", self.param_set)
        register("ParamsList", self.params_list)
        register("Connect", self.connect)
        register("Disconnect", self.disconnect)
        register("IsConnected", self.is_connected)
        register("ContactsGet", self.roster.contacts_get)
        register("ContactAdd", self.roster.contact_add)
        register("ContactUpdate", self.roster.contact_update)
        register("ContactDelete", self.roster.contact_delete)
        register("ContactSubscriptionAnswer", self.presence.subscription_answer)
        register("PresenceSet", self.presence.presence_set)
        register("PresenceStatusesGet", self.presence.statuses_get)
        register("MessageSend", self.messaging.send)
        register("HistoryGet", self.messaging.history)
        for signal in (
            "ParamUpdate", "Connected", "Disconnected", "MessageNew", "MessageUpdate", "ContactNew",
            "ContactDeleted",
            "ContactSubscriptionRequest", "PresenceUpdate", "StorageStatus",
        ):
            self.bridge.enable_signal(signal)

    def _on_param_change(self, name: str, value: str, category: str, profile: str) -> None:
        self.bridge.emit("ParamUpdate", name, value, category, profile)

    def _on_disk_full_change(self, full: bool, detail: str) -> None:
        self.bridge.emit("StorageStatus", "full" if full else "ok", detail, "")

    def get_version(self) -> str:
        return __version__

    async def get_ready(self) -> None:
        await self.ready.wait()

    async def profiles_list(self) -> list[str]:
        return await self.profiles.list()

    async def profile_create(self, profile: str, jid: str, password: str, options_json: str) -> None:
        await self.profiles.create(profile, jid, password, options_json)

    async def profile_delete(self, profile: str) -> None:
        """Close the profile's session and let its handlers finish first: what they
        would store for it afterwards is dropped, not an error."""
        if profile:
            await self.sessions.close(profile)
        await self.profiles.delete(profile)

    async def connect(self, profile: str) -> bool:
        return await self.sessions.connect(await self.profiles.resolve(profile))

    async def disconnect(self, profile: str) -> None:
        await self.sessions.disconnect(await self.profiles.resolve(profile))

    async def is_connected(self, profile: str) -> bool:
        return self.sessions.is_connected(await self.profiles.resolve(profile))

    async def param_get(self, category: str, name: str, profile: str) -> str:
        self.params_registry.get(category, name)
        return await self.params.get_public(category, name, await self.profiles.resolve(profile))

    async def param_set(self, category: str, name: str, value: str, profile: str) -> None:
        self.params_registry.get(category, name)
        await self.params.set(category, name, value, await self.profiles.resolve(profile))

    async def params_list(self, profile: str) -> str:
        return json.dumps(await self.params.describe_all(await self.profiles.resolve(profile)))
