"""Typed runtime data stored on each config entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    # Types only: importing them at run time would tie this module into an import cycle
    # with the modules that use SolarWallboxConfigEntry.
    from homeassistant.helpers.device_registry import DeviceInfo

    from .charging_manager import ChargingManager
    from .const import DeviceType
    from .coordinator import SolarWallboxCoordinator
    from .rawlog import RawLogger
    from .rcm import RcmMonitor


@dataclass
class RuntimeData:
    """What a loaded entry keeps: its device type, coordinator and device info."""

    device_type: DeviceType
    coordinator: SolarWallboxCoordinator[Any, Any]
    device_info: DeviceInfo
    rcm: RcmMonitor | None = None
    charging: ChargingManager | None = None
    rawlog: RawLogger | None = None
    # Unique ids of the entities each platform created in this setup (stale entity cleanup).
    created: dict[str, set[str]] = field(default_factory=dict)


type SolarWallboxConfigEntry = ConfigEntry[RuntimeData]
