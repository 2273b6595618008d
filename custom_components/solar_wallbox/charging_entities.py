"""Entities of surplus charging (on the wallbox device): shared base and descriptions."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .charging_manager import ChargingManager


class ChargingEntity(Entity):
    """An entity whose state comes from the surplus charging manager."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, manager: ChargingManager, device_info: DeviceInfo, key: str) -> None:
        """Attach the entity to the wallbox device."""
        self.manager = manager
        self._attr_device_info = device_info
        self._attr_unique_id = f"{manager.entry.unique_id}_{key}"
        self._attr_translation_key = key

    async def async_added_to_hass(self) -> None:
        """Refresh the state after every decision."""
        await super().async_added_to_hass()
        self.async_on_remove(self.manager.add_listener(self.async_write_ha_state))
