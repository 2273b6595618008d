"""Site adapters: the surplus controller's inputs from the devices a wallbox entry links.

The controller (charging/) decides from timestamped inputs only. This module builds them:
the site (grid power, home battery) from the entries linked as grid meter and home
battery, the residual current state from the linked monitor, the wallbox from the
charger's own poll. Which device can be linked for what is its spec's roles
(devices/spec.py); the next sources (any Home Assistant entity) come in here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState

from .charging.model import RcmInput, SiteInput, WallboxInput
from .charging_limits import GridLimits
from .const import CONF_BATTERY_ENTRY, CONF_GRID_ENTRY, CONF_RCM_ENTRY
from .drivers.dctr_bands import BAND_LABELS

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import Reading, SolarWallboxCoordinator
    from .drivers.amtron import AmtronData
    from .models import SolarWallboxConfigEntry
    from .rcm import RcmMonitor

# The links whose every fresh reading gives a decision (an alarm stops charging within
# one poll of the monitor).
FOLLOWED_LINKS = (CONF_GRID_ENTRY, CONF_RCM_ENTRY)


class SiteSources:
    """The entries a wallbox entry links, read when the controller decides."""

    def __init__(self, hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
        """Links from ``entry``'s options (they may load, unload or reload at any time)."""
        self.hass = hass
        self.entry = entry
        self.limits = GridLimits(hass, entry)  # phase currents, §14a, curtailment

    def linked(self, key: str) -> SolarWallboxConfigEntry | None:
        """The loaded entry linked under ``key``, if any."""
        entry_id = self.entry.options.get(key)
        if not entry_id:
            return None
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    def coordinator(self, key: str) -> SolarWallboxCoordinator[Any, Any] | None:
        """The coordinator of the entry linked under ``key`` (to follow its readings)."""
        entry = self.linked(key)
        return entry.runtime_data.coordinator if entry is not None else None

    def site(self) -> SiteInput | None:
        """Grid power from the grid meter, the battery from the home battery (or the meter)."""
        grid_entry = self.linked(CONF_GRID_ENTRY)
        grid = grid_entry.runtime_data.grid_power() if grid_entry is not None else None
        if grid_entry is None or grid is None:
            return None
        grid_power, measured_at = grid
        battery_entry = self.linked(CONF_BATTERY_ENTRY)
        battery = battery_entry.runtime_data.battery() if battery_entry is not None else None
        if battery is None:
            # The grid meter itself when it is also the home battery (an E3DC).
            battery = grid_entry.runtime_data.battery()
        site = SiteInput(
            measured_at=measured_at,
            grid_power=float(grid_power),
            battery_power=battery.power if battery else None,
            battery_soc=battery.soc if battery else None,
            pv_power=battery.pv_power if battery else None,
        )
        return self.limits.apply(site)

    def rcm(self) -> RcmInput | None:
        """The residual current state; a monitor linked but not loaded counts as stale."""
        if not self.entry.options.get(CONF_RCM_ENTRY):
            return None
        entry = self.linked(CONF_RCM_ENTRY)
        monitor = entry.runtime_data.rcm if entry is not None else None
        if monitor is None:
            return RcmInput(measured_at=None, alarm=None, link_ok=False)
        state = monitor.state
        raised = [name for name, on in (("A", state.alarm_a), ("B", state.alarm_b)) if on]
        detail = None
        if raised and entry is not None:
            detail = _alarm_detail(entry.title, "+".join(raised), monitor)
        return RcmInput(
            measured_at=state.measured_at,
            alarm=state.alarm,
            link_ok=state.link_ok,
            detail=detail,
        )


def _alarm_detail(monitor_title: str, raised: str, monitor: RcmMonitor) -> str:
    """What the monitor measured, for the lockout and its repair issue (kept in the store).

    E.g. "Doepke DCTR: alarm A, DC 12 mA, AC 50 Hz 31 mA": which monitor, which alarm,
    and each band that raised it with its residual current at that reading.
    """
    state = monitor.state
    reading = monitor.coordinator.data
    values = []
    for band in state.bands:
        label = BAND_LABELS.get(band, band)
        if reading is not None and monitor.coordinator.last_update_success:
            label = f"{label} {reading.data.current(band)} mA"
        values.append(label)
    return ", ".join([f"{monitor_title}: alarm {raised}", *values])


def wallbox_input(reading: Reading[AmtronData], ceiling: int) -> WallboxInput:
    """The charger's poll as the controller sees it (``ceiling``: the entry's maximum, A)."""
    data = reading.data
    limits = [ceiling, *(v for v in (data.operator_limit, data.ev_max_current) if v)]
    return WallboxInput(
        measured_at=reading.measured_at,
        connected=data.car_connected,
        power=float(data.power or 0),
        currents=(data.current_l1 or 0.0, data.current_l2 or 0.0, data.current_l3 or 0.0),
        current_limit=data.hems_limit,
        session_energy=float(data.session_energy) if data.session_energy is not None else None,
        session_duration=float(data.session_duration)
        if data.session_duration is not None
        else None,
        rfid_tag=data.rfid_tag,
        device_min_current=data.min_current,
        device_max_current=min(limits),
    )
