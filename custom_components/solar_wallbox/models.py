"""Typed runtime data stored on each config entry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    # Types only: importing them at run time would tie this module into an import cycle
    # with the modules that use SolarWallboxConfigEntry.
    from homeassistant.const import Platform
    from homeassistant.helpers.device_registry import DeviceInfo
    from homeassistant.helpers.entity import Entity

    from .charging_manager import ChargingManager
    from .coordinator import DeviceClient, SolarWallboxCoordinator
    from .devices.spec import BatteryState, DeviceSpec
    from .rawlog import RawLogger
    from .rcm import RcmMonitor


@dataclass
class DeviceRuntime[ClientT: DeviceClient[Any, Any], IdentityT, DataT]:
    """What a loaded entry keeps, typed by its device (see devices/spec.py)."""

    spec: DeviceSpec[ClientT, IdentityT, DataT]
    client: ClientT
    coordinator: SolarWallboxCoordinator[IdentityT, DataT]
    device_info: DeviceInfo
    rcm: RcmMonitor | None = None
    charging: ChargingManager | None = None
    rawlog: RawLogger | None = None
    # Unique ids of the entities each platform created in this setup (stale entity cleanup).
    created: dict[str, set[str]] = field(default_factory=dict)

    @property
    def identity(self) -> IdentityT:
        """What the device said about itself at setup."""
        return self.coordinator.identity

    def entities(self, platform: Platform) -> Iterable[Entity]:
        """The entities the spec describes for ``platform``."""
        factory = self.spec.entities.get(platform)
        return factory(self) if factory is not None else ()

    def _fresh(self) -> tuple[DataT, datetime] | None:
        coordinator = self.coordinator
        if not coordinator.last_update_success or coordinator.data is None:
            return None
        return coordinator.data.data, coordinator.data.measured_at

    def grid_power(self) -> tuple[float, datetime] | None:
        """The grid meter role: W (+ import) of the latest poll and when it was taken."""
        fresh = self._fresh()
        if fresh is None or self.spec.grid_power is None:
            return None
        power = self.spec.grid_power(fresh[0])
        return (power, fresh[1]) if power is not None else None

    def battery(self) -> BatteryState | None:
        """The home battery role: the latest poll's state."""
        fresh = self._fresh()
        if fresh is None or self.spec.battery is None:
            return None
        return self.spec.battery(fresh[0])


type SolarWallboxConfigEntry = ConfigEntry[DeviceRuntime[Any, Any, Any]]
