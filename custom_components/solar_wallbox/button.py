"""Button "Acknowledge RCM alarm" of the wallbox."""

from __future__ import annotations

from typing import Any

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform
from homeassistant.exceptions import ServiceValidationError

from .charging_entities import ChargingEntity
from .const import DOMAIN
from .entity import platform_setup

PARALLEL_UPDATES = 0


async_setup_entry = platform_setup(Platform.BUTTON)


class AcknowledgeRcmButton(ChargingEntity, ButtonEntity):
    """Releases the charging lock after a residual current alarm has gone."""

    def __init__(self, manager: Any, device_info: Any) -> None:
        """Bind the button to the manager."""
        super().__init__(manager, device_info, "acknowledge_rcm")

    async def async_press(self) -> None:
        """Acknowledge the alarm; say why not while it is active or when none is latched."""
        if self.manager.rcm_alarm_active:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="rcm_alarm_still_active"
            )
        if not self.manager.controller.rcm_latched:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="rcm_nothing_to_acknowledge"
            )
        await self.manager.async_acknowledge_rcm()
