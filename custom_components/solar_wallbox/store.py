"""The wallbox's memory: what surplus charging must keep across restarts.

One ``helpers.storage.Store`` per wallbox entry (key ``solar_wallbox.charging.<entry id>``)
holds the residual current lockout, today's start count, the running session's solar
energy, the surplus switch, the charge mode and every setting changed through an entity.
Entities show and change this state; none of them owns it, so disabling an entity or the
order in which platforms load can never lose it. It is loaded before the charging manager
starts (nothing above 0 A is written before), saved at once when the lockout changes and
within ``SAVE_DELAY`` otherwise (and on unload and at shutdown).

A file that exists but cannot be read is never taken for "nothing to remember": with a
residual current monitor linked, the lockout starts latched (fail safe) until the user
acknowledges it; everything else starts from its defaults. Without a file, the values of
version 0.1.0 (which kept them in entity restore states) are taken over once.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import STATE_ON
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import restore_state
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .charging.model import LOCKOUT_STATE_UNREADABLE, ChargeMode, Lockout, normalise_tag
from .charging_plan import PlanMemory
from .const import (
    CONF_RCM_ENTRY,
    DOMAIN,
    ENTITY_SETTING_SCALES,
    INT_SETTINGS,
    LOGGER,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .models import SolarWallboxConfigEntry

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 1
SAVE_DELAY: Final = 10.0  # s; the lockout is saved at once


def storage_key(entry_id: str) -> str:
    """The key (file name under .storage/) of a wallbox entry's memory."""
    return f"{DOMAIN}.charging.{entry_id}"


def tag_fingerprint(tag: str | None) -> str | None:
    """What identifies a session's RFID tag in the file, without keeping the tag itself."""
    if not tag:
        return None
    return hashlib.sha256(normalise_tag(tag).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SessionMemory:
    """The running session's solar energy and what identifies that session."""

    solar_energy: float  # Wh
    start: str | None = None  # the charger's session start time (None: not known, 0.1.0)
    tag: str | None = None  # tag_fingerprint of the session's tag
    metered: float | None = None  # Wh the charger had metered for the session when saved

    def continues(self, start: str | None, tag: str | None, metered: float | None) -> bool:
        """True if a session seen now is the one remembered (not a new plug-in)."""
        if None not in (self.start, start) and start != self.start:
            return False
        if None not in (self.tag, tag) and tag != self.tag:
            return False
        # A session's metered energy never falls; a lower value is a new session.
        return self.metered is None or metered is None or metered >= self.metered - 1.0


@dataclass(frozen=True, slots=True)
class ChargingMemory:
    """Everything the controller of one wallbox remembers."""

    lockout: Lockout = field(default_factory=Lockout)
    starts_today: int = 0
    starts_date: date | None = None
    session: SessionMemory | None = None
    enabled: bool = False
    mode: ChargeMode | None = None  # None: the options' (default) mode
    settings: Mapping[str, float] = field(default_factory=dict)  # set through entities
    plan: PlanMemory = field(default_factory=PlanMemory)  # the one-off departure plan

    def to_json(self) -> dict[str, Any]:
        """The file's ``data``."""
        lockout = self.lockout
        session = self.session
        return {
            "lockout": {
                "latched": lockout.latched,
                "since": lockout.since.isoformat() if lockout.since else None,
                "alarm": lockout.alarm,
                "acknowledged": lockout.acknowledged,
            },
            "starts_today": {
                "count": self.starts_today,
                "date": self.starts_date.isoformat() if self.starts_date else None,
            },
            "session": None
            if session is None
            else {
                "solar_energy": session.solar_energy,
                "start": session.start,
                "tag": session.tag,
                "metered": session.metered,
            },
            "enabled": self.enabled,
            "mode": self.mode.value if self.mode else None,
            "settings": dict(self.settings),
            "plan": self.plan.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> ChargingMemory:
        """Parse the file's ``data``; ValueError for anything that is not what we write."""
        root = _mapping(data, "data")
        lock = _mapping(root.get("lockout", {}), "lockout")
        starts = _mapping(root.get("starts_today", {}), "starts_today")
        raw_session = root.get("session")
        session = None
        if raw_session is not None:
            s = _mapping(raw_session, "session")
            session = SessionMemory(
                solar_energy=_number(s.get("solar_energy"), "session.solar_energy", low=0.0),
                start=_optional_str(s.get("start"), "session.start"),
                tag=_optional_str(s.get("tag"), "session.tag"),
                metered=None
                if s.get("metered") is None
                else _number(s["metered"], "session.metered", low=0.0),
            )
        settings: dict[str, float] = {}
        for name, value in _mapping(root.get("settings", {}), "settings").items():
            if name in ENTITY_SETTING_SCALES:  # a setting this release no longer has: drop
                number = _number(value, f"settings.{name}")
                settings[name] = int(number) if name in INT_SETTINGS else number
        mode = root.get("mode")
        count = starts.get("count", 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("starts_today.count")
        latched = _bool(lock.get("latched", False), "lockout.latched")
        return cls(
            lockout=Lockout(
                latched=latched,
                since=_optional_datetime(lock.get("since"), "lockout.since"),
                alarm=_optional_str(lock.get("alarm"), "lockout.alarm"),
                acknowledged=latched and _bool(lock.get("acknowledged", False), "acknowledged"),
            ),
            starts_today=count,
            starts_date=_optional_date(starts.get("date"), "starts_today.date"),
            session=session,
            enabled=_bool(root.get("enabled", False), "enabled"),
            mode=None if mode is None else ChargeMode(mode),
            settings=settings,
            # Not a safety state: a plan that cannot be read is dropped, never the file.
            plan=PlanMemory.from_json(root.get("plan")),
        )


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(name)
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(name)
    return value


def _number(value: Any, name: str, *, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(name)
    number = float(value)
    if not math.isfinite(number) or (low is not None and number < low):
        raise ValueError(name)
    return number


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(name)
    return value


def _optional_datetime(value: Any, name: str) -> datetime | None:
    text = _optional_str(value, name)
    if text is None:
        return None
    parsed = dt_util.parse_datetime(text)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(name)
    return parsed


def _optional_date(value: Any, name: str) -> date | None:
    text = _optional_str(value, name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(name) from err


class ChargingStore(Store[dict[str, Any]]):
    """The versioned file of one wallbox entry's memory."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind the store to ``entry_id``."""
        super().__init__(
            hass,
            STORAGE_VERSION,
            storage_key(entry_id),
            minor_version=STORAGE_MINOR_VERSION,
        )

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        """Bring older files up to date (fields added in minor versions get defaults).

        A file of a newer major version (written by a later release, then downgraded)
        cannot be understood: it counts as unreadable, which is fail safe.
        """
        if old_major_version > STORAGE_VERSION:
            raise NotImplementedError
        return old_data

    async def async_save_memory(self, memory: ChargingMemory) -> None:
        """Write ``memory`` now."""
        await self.async_save(memory.to_json())

    def async_delay_save_memory(self, memory: ChargingMemory) -> None:
        """Write ``memory`` within ``SAVE_DELAY`` (or at shutdown)."""
        self.async_delay_save(memory.to_json, SAVE_DELAY)


@dataclass(frozen=True, slots=True)
class LoadedMemory:
    """What setup found: the memory to start from and how it was obtained."""

    memory: ChargingMemory
    unreadable: bool = False  # a file existed but could not be read (fail safe applied)
    migrated: bool = False  # taken over from the restore states of version 0.1.0


async def async_load_memory(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry, store: ChargingStore
) -> LoadedMemory:
    """Load the memory of ``entry`` (before anything is written to the wallbox)."""
    exists = await hass.async_add_executor_job(os.path.exists, store.path)
    error: str | None = None
    try:
        raw = await store.async_load()
    except (HomeAssistantError, OSError, ValueError, TypeError, KeyError) as err:
        raw, error = None, f"{type(err).__name__}: {err}"
    except NotImplementedError:
        raw, error = None, "written by a newer version of Solar Wallbox"
    if raw is None and exists and error is None:
        # Home Assistant moves an undecodable file aside and reports "nothing stored".
        error = "the file could not be decoded"
    if raw is not None:
        try:
            return LoadedMemory(ChargingMemory.from_json(raw))
        except ValueError as err:
            error = f"unexpected content ({err})"
    if error is not None:
        return await _async_fail_safe(hass, entry, store, error)
    migrated = _from_restore_states(hass, entry)
    if migrated is None:
        return LoadedMemory(ChargingMemory())
    LOGGER.info("%s: surplus charging state taken over from version 0.1.0", entry.title)
    await store.async_save_memory(migrated)
    return LoadedMemory(migrated, migrated=True)


async def _async_fail_safe(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry, store: ChargingStore, error: str
) -> LoadedMemory:
    rcm_linked = bool(entry.options.get(CONF_RCM_ENTRY))
    LOGGER.error(
        "%s: the saved surplus charging state (%s) could not be read: %s. Settings start "
        "from their defaults%s",
        entry.title,
        store.path,
        error,
        "; charging stays locked until the residual current alarm is acknowledged"
        if rcm_linked
        else "",
    )
    memory = ChargingMemory()
    if rcm_linked:
        memory = replace(
            memory,
            lockout=Lockout(latched=True, since=dt_util.utcnow(), alarm=LOCKOUT_STATE_UNREADABLE),
        )
    # Written at once: the next start reads a good file (with the lockout still latched).
    await store.async_save_memory(memory)
    return LoadedMemory(memory, unreadable=True)


def _from_restore_states(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry
) -> ChargingMemory | None:
    """The memory of version 0.1.0, read from its entities' restore states (or None)."""
    registry = er.async_get(hass)
    last_states = restore_state.async_get(hass).last_states

    def last(domain: str, key: str) -> restore_state.StoredState | None:
        entity_id = registry.async_get_entity_id(domain, DOMAIN, f"{entry.unique_id}_{key}")
        return last_states.get(entity_id) if entity_id else None

    found = False
    memory = ChargingMemory()
    if (switch := last("switch", "surplus_charging")) is not None:
        found = True
        memory = replace(memory, enabled=switch.state.state == STATE_ON)
    if (select := last("select", "charge_mode")) is not None:
        found = True
        if select.state.state in tuple(ChargeMode):
            memory = replace(memory, mode=ChargeMode(select.state.state))
    if (decision := last("sensor", "decision_reason")) is not None:
        found = True
        if decision.state.state in ("rcm_alarm", "rcm_latched"):
            since = decision.state.last_changed
            memory = replace(memory, lockout=Lockout(latched=True, since=since))
    if (starts := last("sensor", "starts_today")) is not None:
        found = True
        day = dt_util.as_local(starts.state.last_changed).date()
        if starts.state.state.isdigit() and day == dt_util.now().date():
            memory = replace(memory, starts_today=int(starts.state.state), starts_date=day)
    if (solar := last("sensor", "session_solar_energy")) is not None:
        found = True
        kwh = _float_or_none(solar.state.state)
        if kwh is not None and kwh > 0:
            memory = replace(memory, session=SessionMemory(solar_energy=kwh * 1000))
    settings: dict[str, float] = {}
    for name, scale in ENTITY_SETTING_SCALES.items():
        number = last("number", name)
        if number is None:
            continue
        found = True
        extra = number.extra_data.as_dict() if number.extra_data else {}
        value = _float_or_none(extra.get("native_value"))
        if value is not None:
            settings[name] = int(value) if name in INT_SETTINGS else value * scale
    memory = replace(memory, settings=settings)
    return memory if found else None


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
