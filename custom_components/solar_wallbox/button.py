"""Button "Acknowledge RCM alarm" of the wallbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.button import ButtonEntity

from .charging_entities import ChargingEntity

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the acknowledge button of a wallbox entry."""
    manager = entry.runtime_data.charging
    if manager is not None:
        async_add_entities([AcknowledgeRcmButton(manager, entry.runtime_data.device_info)])


class AcknowledgeRcmButton(ChargingEntity, ButtonEntity):
    """Releases the charging lock after a residual current alarm has gone."""

    def __init__(self, manager: Any, device_info: Any) -> None:
        """Bind the button to the manager."""
        super().__init__(manager, device_info, "acknowledge_rcm")

    async def async_press(self) -> None:
        """Acknowledge the alarm."""
        await self.manager.async_acknowledge_rcm()
