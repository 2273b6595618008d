"""Switch "Surplus charging" of the wallbox."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import Platform

from .charging_entities import ChargingEntity
from .entity import platform_setup

PARALLEL_UPDATES = 0


async_setup_entry = platform_setup(Platform.SWITCH)


class SurplusChargingSwitch(ChargingEntity, SwitchEntity):
    """On: the controller drives the charging current. Off: it writes nothing.

    The state is the manager's (kept in the state store, see store.py).
    """

    def __init__(self, manager: Any, device_info: Any) -> None:
        """Bind the switch to the manager."""
        super().__init__(manager, device_info, "surplus_charging")

    @property
    def is_on(self) -> bool:
        """Return True while surplus charging is on."""
        return self.manager.enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn surplus charging on."""
        await self.manager.async_set_enabled(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn surplus charging off; the current limit stays as it is."""
        await self.manager.async_set_enabled(False)
