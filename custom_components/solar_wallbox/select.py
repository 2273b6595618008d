"""Select "Charge mode" of the wallbox."""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform

from .charging.model import ChargeMode
from .charging_entities import ChargingEntity
from .entity import platform_setup

PARALLEL_UPDATES = 0


async_setup_entry = platform_setup(Platform.SELECT)


class ChargeModeSelect(ChargingEntity, SelectEntity):
    """PV only, Min+PV, Fast or Off (kept in the state store, see store.py)."""

    def __init__(self, manager: Any, device_info: Any) -> None:
        """Bind the select to the manager."""
        super().__init__(manager, device_info, "charge_mode")
        self._attr_options = [mode.value for mode in ChargeMode]

    @property
    def current_option(self) -> str:
        """The current mode."""
        return self.manager.settings.mode.value

    async def async_select_option(self, option: str) -> None:
        """Change the mode."""
        await self.manager.async_update_setting("mode", ChargeMode(option))
