"""Base entity shared by every platform."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import SolarWallboxCoordinator

if TYPE_CHECKING:
    from homeassistant.const import Platform
    from homeassistant.helpers.entity import Entity
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry


def add_entities(
    entry: SolarWallboxConfigEntry,
    platform: Platform,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: Sequence[Entity],
) -> None:
    """Add the platform's entities and remember their unique ids (see remove_stale)."""
    entry.runtime_data.created[platform] = {e.unique_id for e in entities if e.unique_id}
    async_add_entities(entities)


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
