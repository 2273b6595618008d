"""Base entity shared by every platform."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import SolarWallboxCoordinator


class SolarWallboxEntity[CoordinatorT: SolarWallboxCoordinator[Any, Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of one device, named by translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, device_info: DeviceInfo, key: str) -> None:
        """Attach the entity to the entry's device; ``key`` makes the unique id."""
        super().__init__(coordinator)
        self._attr_device_info = device_info
        self._attr_unique_id = f"{coordinator.config_entry.unique_id}_{key}"
