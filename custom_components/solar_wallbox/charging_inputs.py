"""Site adapters: the surplus controller's inputs from what a wallbox entry links.

The controller (charging/) decides from timestamped inputs only. This module builds them:
the site (grid power, home battery, PV power) from the entries linked as grid meter and
home battery **or** from any Home Assistant entities chosen in the surplus options
(README.md, "Using other meters and inverters"), the residual current state from the
linked monitor, the wallbox from the charger's own poll. Which device can be linked for
what is its spec's roles (devices/spec.py).

How an entity's state becomes a reading (units, unknown states, its time) is
entity_readings.py; a chosen entity without a reading makes the site count as missing, so
the stale rules give the safe state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)

from .charging.model import RcmInput, SiteInput, WallboxInput
from .charging_limits import GridLimits
from .const import (
    CONF_BATTERY_ENTRY,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC_ENTITY,
    CONF_GRID_ENTRY,
    CONF_GRID_EXPORT_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_PV_POWER_ENTITY,
    CONF_RCM_ENTRY,
    LOGGER,
    BatterySign,
    GridSign,
)
from .drivers.dctr_bands import BAND_LABELS
from .entity_readings import EntityReading, Quantity, read_state, reported_at

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import Reading, SolarWallboxCoordinator
    from .devices.spec import BatteryState
    from .drivers.amtron import AmtronData
    from .models import SolarWallboxConfigEntry
    from .rcm import RcmMonitor

# The links whose every fresh reading gives a decision (an alarm stops charging within
# one poll of the monitor).
FOLLOWED_LINKS = (CONF_GRID_ENTRY, CONF_RCM_ENTRY)
# The options that name an entity as a source of the site (each at most once).
SOURCE_ENTITIES: Final = (
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_EXPORT_ENTITY,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_SOC_ENTITY,
    CONF_PV_POWER_ENTITY,
)
# The ones that hold a state of charge (%); all others hold a power.
SOC_ENTITIES: Final = frozenset({CONF_BATTERY_SOC_ENTITY})


class _NoReading(Exception):
    """A battery entity is chosen and gives no reading: the site counts as missing (not as
    a site without a battery, which would let the car drain it unseen)."""


def _enum[E: (GridSign, BatterySign)](kind: type[E], value: Any, default: E) -> E:
    """The stored sign convention; the default for a value the options should not hold."""
    try:
        return kind(value)
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class _Battery:
    power: float | None  # W, + charging
    soc: float | None  # %
    pv_power: float | None = None  # W (an E3DC reports it with its battery)

    @classmethod
    def of(cls, state: BatteryState) -> _Battery:
        return cls(power=state.power, soc=state.soc, pv_power=state.pv_power)


@dataclass(frozen=True, slots=True)
class _Grid:
    power: float  # W, + import
    measured_at: datetime
    entry: SolarWallboxConfigEntry | None  # the linked meter (it may be the battery too)


class SiteSources:
    """The entries and entities a wallbox entry links, read when the controller decides."""

    def __init__(self, hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
        """Sources from ``entry``'s options (linked entries may load or reload at any time)."""
        self.hass = hass
        self.entry = entry
        self.limits = GridLimits(hass, entry)  # phase currents, §14a, curtailment
        # Entities whose state could not be read, logged once until they read again.
        self._warned: set[str] = set()

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

    def _entity(self, key: str) -> str | None:
        value = self.entry.options.get(key)
        return str(value) if value else None

    def _grid_entities(self) -> list[str]:
        """The entities the grid power comes from (none while a meter of ours is linked)."""
        if self.entry.options.get(CONF_GRID_ENTRY):
            return []
        if (entity := self._entity(CONF_GRID_POWER_ENTITY)) is not None:
            return [entity]
        pair = [self._entity(CONF_GRID_IMPORT_ENTITY), self._entity(CONF_GRID_EXPORT_ENTITY)]
        return [e for e in pair if e is not None] if all(pair) else []

    def followed_entities(self) -> list[str]:
        """The entities whose every state change or report gives a decision.

        The grid's (like every reading of a linked grid meter). More inputs that must act
        at once add their entities here.
        """
        return self._grid_entities()

    def read(self, entity_id: str, quantity: Quantity) -> EntityReading | None:
        """The entity's reading; a state that cannot be read is logged once."""
        state = self.hass.states.get(entity_id)
        reading = read_state(state, quantity)
        if reading is not None:
            self._warned.discard(entity_id)
            return reading
        unreadable = state is not None and state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
        if unreadable and entity_id not in self._warned and state is not None:
            self._warned.add(entity_id)
            LOGGER.warning(
                "Surplus charging cannot read %s: state %r, unit %r (expected a number in %s)",
                entity_id,
                state.state,
                state.attributes.get(ATTR_UNIT_OF_MEASUREMENT),
                "%" if quantity == Quantity.SOC else "W or kW",
            )
        return None

    def _grid(self) -> _Grid | None:
        """Grid power (W, + import) and its time, from the linked meter or the entities."""
        options = self.entry.options
        if options.get(CONF_GRID_ENTRY):
            entry = self.linked(CONF_GRID_ENTRY)
            grid = entry.runtime_data.grid_power() if entry is not None else None
            if entry is None or grid is None:
                return None
            return _Grid(power=float(grid[0]), measured_at=grid[1], entry=entry)
        if (entity := self._entity(CONF_GRID_POWER_ENTITY)) is not None:
            reading = self.read(entity, Quantity.POWER)
            if reading is None:
                return None
            sign = _enum(GridSign, options.get(CONF_GRID_POWER_SIGN), GridSign.IMPORT_POSITIVE)
            power = reading.value if sign is GridSign.IMPORT_POSITIVE else -reading.value
            return _Grid(power=power, measured_at=reading.measured_at, entry=None)
        entities = self._grid_entities()
        if len(entities) != 2:
            return None
        readings = [self.read(entity, Quantity.POWER) for entity in entities]
        imported, exported = readings
        if imported is None or exported is None:
            return None
        if imported.value < 0 or exported.value < 0:
            # Both count up from 0; a negative one is a misconfigured entity, not a reading.
            self._warn_negative(entities, (imported.value, exported.value))
            return None
        return _Grid(
            power=imported.value - exported.value,
            # The older of the two: the pair is as fresh as its staler half.
            measured_at=min(imported.measured_at, exported.measured_at),
            entry=None,
        )

    def _warn_negative(self, entities: list[str], values: tuple[float, float]) -> None:
        key = "negative:" + ",".join(entities)
        if key not in self._warned:
            self._warned.add(key)
            LOGGER.warning(
                "Surplus charging ignores the grid: import %s = %.0f W, export %s = %.0f W "
                "(both must be 0 or more)",
                entities[0],
                values[0],
                entities[1],
                values[1],
            )

    def _battery(self, grid: _Grid) -> _Battery | None:
        """The home battery: linked entry, entities, or the grid meter itself (an E3DC).

        Raises ``_NoReading`` when a battery entity is chosen but gives no reading.
        """
        options = self.entry.options
        power_entity = self._entity(CONF_BATTERY_POWER_ENTITY)
        soc_entity = self._entity(CONF_BATTERY_SOC_ENTITY)
        if not options.get(CONF_BATTERY_ENTRY) and (power_entity or soc_entity):
            power = self.read(power_entity, Quantity.POWER) if power_entity else None
            soc = self.read(soc_entity, Quantity.SOC) if soc_entity else None
            if (power_entity and power is None) or (soc_entity and soc is None):
                raise _NoReading
            sign = _enum(
                BatterySign, options.get(CONF_BATTERY_POWER_SIGN), BatterySign.CHARGE_POSITIVE
            )
            value = None
            if power is not None:
                value = power.value if sign is BatterySign.CHARGE_POSITIVE else -power.value
            return _Battery(power=value, soc=soc.value if soc is not None else None)
        battery_entry = self.linked(CONF_BATTERY_ENTRY)
        state = battery_entry.runtime_data.battery() if battery_entry is not None else None
        if state is None and grid.entry is not None:
            # The grid meter itself when it is also the home battery (an E3DC).
            state = grid.entry.runtime_data.battery()
        return _Battery.of(state) if state is not None else None

    def _pv_power(self, battery: _Battery | None) -> float | None:
        """PV power (shown only): the entity if one is chosen, else the home battery's."""
        if (entity := self._entity(CONF_PV_POWER_ENTITY)) is not None:
            reading = self.read(entity, Quantity.POWER)
            return reading.value if reading is not None else None
        return battery.pv_power if battery is not None else None

    def site(self) -> SiteInput | None:
        """The site as the controller sees it; None when the grid (or a battery entity
        chosen) gives no reading: the stale rules then apply."""
        grid = self._grid()
        if grid is None:
            return None
        try:
            battery = self._battery(grid)
        except _NoReading:
            return None
        site = SiteInput(
            measured_at=grid.measured_at,
            grid_power=grid.power,
            battery_power=battery.power if battery else None,
            battery_soc=battery.soc if battery else None,
            pv_power=self._pv_power(battery),
        )
        return self.limits.apply(site)

    def describe(self) -> dict[str, Any]:
        """Where each input comes from, for diagnostics (entity ids and entry ids are not
        secret; the entry's options show them too), with each entity's raw state."""
        options = self.entry.options
        grid: dict[str, Any] | None = None
        if options.get(CONF_GRID_ENTRY):
            grid = {
                "entry": options[CONF_GRID_ENTRY],
                "loaded": self.linked(CONF_GRID_ENTRY) is not None,
            }
        elif self._entity(CONF_GRID_POWER_ENTITY):
            grid = {
                "entity": options[CONF_GRID_POWER_ENTITY],
                "sign": str(options.get(CONF_GRID_POWER_SIGN, GridSign.IMPORT_POSITIVE)),
            }
        elif pair := self._grid_entities():
            grid = {"import_entity": pair[0], "export_entity": pair[1]}
        battery: dict[str, Any] | None = None
        if options.get(CONF_BATTERY_ENTRY):
            battery = {
                "entry": options[CONF_BATTERY_ENTRY],
                "loaded": self.linked(CONF_BATTERY_ENTRY) is not None,
            }
        elif self._entity(CONF_BATTERY_POWER_ENTITY) or self._entity(CONF_BATTERY_SOC_ENTITY):
            battery = {
                "power_entity": self._entity(CONF_BATTERY_POWER_ENTITY),
                "sign": str(options.get(CONF_BATTERY_POWER_SIGN, BatterySign.CHARGE_POSITIVE)),
                "soc_entity": self._entity(CONF_BATTERY_SOC_ENTITY),
            }
        elif grid is not None and "entry" in grid:
            battery = {"grid_meter": True}
        entities: dict[str, dict[str, Any] | None] = {}
        for key in SOURCE_ENTITIES:
            if (entity_id := self._entity(key)) is None:
                continue
            state = self.hass.states.get(entity_id)
            entities[entity_id] = (
                None
                if state is None
                else {
                    "state": state.state,
                    "unit": state.attributes.get(ATTR_UNIT_OF_MEASUREMENT),
                    "reported_at": reported_at(state).isoformat(),
                }
            )
        return {
            "grid": grid,
            "battery": battery,
            "pv_power": {"entity": self._entity(CONF_PV_POWER_ENTITY)}
            if self._entity(CONF_PV_POWER_ENTITY)
            else None,
            "followed_entities": self.followed_entities(),
            "entities": entities,
        }

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
