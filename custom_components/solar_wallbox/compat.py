"""Home Assistant APIs that differ between the releases we support (2025.4 to 2026.12).

Each difference is feature-detected here, in one place: never by comparing version strings.

Kept on purpose while 2025.4 is supported: ``homeassistant.const.PERCENTAGE`` (deprecated on
paper in 2026.7 for ``UnitOfRatio.PERCENTAGE``, the same string, which 2025.4 lacks; no
warning at run time) and a plain ``OptionsFlow`` with an update listener that reloads
(``OptionsFlowWithReload`` is missing in 2025.4). Config flows therefore never reload an
entry themselves (``reload_on_update=False``): one reload per change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.helpers import device_registry as dr


def device_by_identifier(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], entry_id: str
) -> dr.DeviceEntry | None:
    """The device of ``entry_id`` with ``identifier``.

    From 2026.8 a device belongs to one config entry and ``async_get_device`` is
    deprecated for ``async_get_device_by_identifier`` (missing before 2026.8).
    """
    by_identifier: Any = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        device: dr.DeviceEntry | None = by_identifier(identifier, entry_id)
        return device
    return registry.async_get_device(identifiers={identifier})  # ha-api-check: fallback


def device_entry_ids(device: dr.DeviceEntry) -> set[str]:
    """The config entries ``device`` belongs to.

    From 2026.8 that is the single ``config_entry_id``; ``config_entries`` is deprecated
    there (and the only attribute before 2026.8).
    """
    entry_id: str | None = getattr(device, "config_entry_id", None)
    if entry_id is not None:
        return {entry_id}
    return set(device.config_entries)
