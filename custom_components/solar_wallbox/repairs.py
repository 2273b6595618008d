"""Repair flows: the residual current lockout can be released from the repair issue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.data_entry_flow import FlowResult

    from .models import SolarWallboxConfigEntry


class RcmLockoutRepairFlow(RepairsFlow):
    """Acknowledge a residual current alarm after the installation was checked."""

    def __init__(self, entry_id: str) -> None:
        """Bind the flow to the wallbox entry whose charging is locked."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask the user to confirm, then acknowledge (only once the alarm is gone)."""
        entry: SolarWallboxConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        manager = entry.runtime_data.charging
        if manager is None:
            return self.async_abort(reason="entry_not_loaded")
        if manager.rcm_alarm_active:
            return self.async_abort(reason="alarm_active")
        if user_input is None:
            return self.async_show_form(step_id="confirm", data_schema=vol.Schema({}))
        await manager.async_acknowledge_rcm()
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the fix flow of a fixable issue (only the RCM lockout is fixable)."""
    entry_id = str((data or {}).get("entry_id", ""))
    return RcmLockoutRepairFlow(entry_id)
