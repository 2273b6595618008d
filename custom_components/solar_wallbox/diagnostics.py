"""Diagnostics download: configuration, identity, transport counters and the last poll."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PORT

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .models import SolarWallboxConfigEntry

TO_REDACT = {
    CONF_HOST,
    CONF_PORT,
    "serial",
    "unique_id",
    "serial_number",
    "identifiers",
    "rfid_tag",
    "evccid",
    "tag",
}


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    """Replace the address wherever it appears in the text of ``value``."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "**REDACTED**")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def _as_dict(value: Any) -> Any:
    """A dataclass as plain JSON values: sets as sorted lists, enums as their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _as_dict(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_as_dict(v) for v in value)
    if isinstance(value, list | tuple):
        return [_as_dict(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry
) -> dict[str, Any]:
    """Return redacted diagnostics for one entry."""
    coordinator = entry.runtime_data.coordinator
    reading = coordinator.data
    host, port = str(entry.data[CONF_HOST]), str(entry.data[CONF_PORT])
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "device_type": entry.runtime_data.spec.device_type.value,
            "identity": _as_dict(coordinator.identity),
            # Error messages name the device's address: replace it there.
            "coordinator": _scrub(coordinator.diagnostics(), (f"{host}:{port}", host)),
            "surplus_charging": (
                entry.runtime_data.charging.diagnostics() if entry.runtime_data.charging else None
            ),
            "last_reading": {
                "measured_at": reading.measured_at.isoformat() if reading else None,
                "data": _as_dict(reading.data) if reading else None,
            },
        },
        TO_REDACT,
    )
