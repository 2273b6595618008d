"""Grid connection limits in Home Assistant: the fuse's phase currents, §14a, curtailment.

The controller (charging/) caps the current from three site inputs (README.md, "Grid
connection limits"); this module reads them where the home has them:

- ``phase_currents``: the linked grid meter's phase currents (the PAC2200's L1..L3) when
  its device gives them, else three current sensors (A or mA, converted with Home
  Assistant's unit converter), all three fresh and numeric, else None.
- ``dimmed``: the §14a control signal (a binary sensor, switch or input boolean): on →
  True, off → False. A signal that is unavailable, unknown or gone counts as **dimmed**:
  the control box failing must not lift the grid operator's cap without a word (the cost
  of being wrong is charging at the dimming power, which the law guarantees anyway); a
  repair issue tells the user.
- ``curtailed``: the linked E3DC's EMS status bit 4 (grid meter or home battery), else a
  binary sensor for other inverters; None when neither says.

It also follows these entities (a change of the §14a signal gives a decision at once),
fires the events of the limits (dimming started/ended, the fuse limit started/ended
holding the current down), and raises their repair issues.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import Event, EventStateChangedData, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from .charging.model import Reason, Settings
from .charging_issues import ChargingIssues
from .compat import device_by_identifier
from .const import (
    CONF_BATTERY_ENTRY,
    CONF_CURTAILMENT_ENTITY,
    CONF_DIMMING_ENTITY,
    CONF_DIMMING_POWER,
    CONF_FUSE_CURRENT,
    CONF_GRID_ENTRY,
    CONF_PHASE_CURRENT_ENTITIES,
    DOMAIN,
    EVENT_FUSE_LIMIT,
    EVENT_GRID_DIMMING,
    LOGGER,
)
from .entity_readings import Quantity, read_state

if TYPE_CHECKING:
    from homeassistant.core import CALLBACK_TYPE, HomeAssistant

    from .charging.model import Decision, SiteInput
    from .models import SolarWallboxConfigEntry

ISSUE_FUSE_WITHOUT_PHASE_CURRENTS: Final = "fuse_without_phase_currents"
ISSUE_DIMMING_UNAVAILABLE: Final = "dimming_signal_unavailable"
# A missing input is reported after this long (an entity may load after the wallbox).
LIMIT_REPAIR_AFTER: Final = timedelta(minutes=1)
PHASES: Final = 3
DEFAULTS: Final = Settings()
SIGNAL_MISSING: Final = "missing"  # the dimming entity is not in the state machine


class GridLimits:
    """The grid connection inputs of one wallbox entry and what they lead to."""

    def __init__(self, hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
        """Inputs from ``entry``'s options (an options change reloads the entry)."""
        self.hass = hass
        self.entry = entry
        self.issues = ChargingIssues(hass, entry)
        self._dimmed: bool | None = None  # as reported by the last event
        self._fuse_holding = False
        self._missing_since: dict[str, datetime] = {}

    # -- options ------------------------------------------------------------------------

    @property
    def fuse_current(self) -> float:
        """A per phase of the main fuse; 0 = no fuse limit."""
        return float(self.entry.options.get(CONF_FUSE_CURRENT) or 0)

    @property
    def phase_entities(self) -> tuple[str, ...]:
        """The three phase current entities L1..L3 (none: the meter's own)."""
        entities = tuple(self.entry.options.get(CONF_PHASE_CURRENT_ENTITIES) or ())
        return entities if len(entities) == PHASES else ()

    @property
    def dimming_entity(self) -> str | None:
        """The §14a control signal's entity, if any."""
        return self.entry.options.get(CONF_DIMMING_ENTITY) or None

    @property
    def curtailment_entity(self) -> str | None:
        """The binary sensor that says the inverter curtails its feed-in, if any."""
        return self.entry.options.get(CONF_CURTAILMENT_ENTITY) or None

    def entity_ids(self) -> list[str]:
        """The entities whose every change gives a decision."""
        ids = [*self.phase_entities, self.dimming_entity, self.curtailment_entity]
        return [entity_id for entity_id in ids if entity_id]

    @callback
    def follow(self, decide: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``decide`` on every state change of :meth:`entity_ids` (returns the unsub)."""
        entity_ids = self.entity_ids()
        if not entity_ids:
            return lambda: None

        @callback
        def changed(_event: Event[EventStateChangedData]) -> None:
            decide()

        return async_track_state_change_event(self.hass, entity_ids, changed)

    # -- inputs -------------------------------------------------------------------------

    def _linked(self, key: str) -> SolarWallboxConfigEntry | None:
        entry_id = self.entry.options.get(key)
        entry = self.hass.config_entries.async_get_entry(entry_id) if entry_id else None
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    def _role[T](self, key: str, role: str) -> tuple[T | None, bool]:
        """A role's value from the entry linked under ``key`` (and whether it has the role)."""
        entry = self._linked(key)
        if entry is None:
            return None, False
        runtime = entry.runtime_data
        function: Callable[[Any], T | None] | None = getattr(runtime.spec, role, None)
        if function is None:
            return None, False
        coordinator = runtime.coordinator
        if not coordinator.last_update_success or coordinator.data is None:
            return None, True
        return function(coordinator.data.data), True

    def _stale_timeout(self) -> float:
        return float(self.entry.options.get("stale_timeout", DEFAULTS.stale_timeout))

    def phase_currents(self) -> tuple[float, float, float] | None:
        """A per phase at the grid connection: the meter's, else the three entities'."""
        meter: tuple[float, float, float] | None
        meter, _ = self._role(CONF_GRID_ENTRY, "phase_currents")
        if meter is not None:
            return meter
        if not self.phase_entities:
            return None
        now = dt_util.utcnow()
        values: list[float] = []
        for entity_id in self.phase_entities:
            state = self.hass.states.get(entity_id)
            # Read as magnitudes (cautious: a phase that exports counts as loaded).
            reading = read_state(state, Quantity.CURRENT)
            if reading is None:
                return None
            if (now - reading.measured_at).total_seconds() > self._stale_timeout():
                return None
            values.append(abs(reading.value))
        return values[0], values[1], values[2]

    def meter_has_phase_currents(self) -> bool:
        """True when the linked grid meter's device type gives phase currents."""
        return self._role(CONF_GRID_ENTRY, "phase_currents")[1]

    def dimming_signal(self) -> str | None:
        """The §14a entity's state (on, off, unavailable, ...); None without one."""
        entity_id = self.dimming_entity
        if entity_id is None:
            return None
        state = self.hass.states.get(entity_id)
        return state.state if state is not None else SIGNAL_MISSING

    def dimmed(self) -> bool | None:
        """True while the grid operator dims (or its signal is lost); None without one."""
        signal = self.dimming_signal()
        if signal is None:
            return None
        return signal != STATE_OFF  # on, or lost: dimmed (module docstring)

    def curtailed(self) -> bool | None:
        """The inverter curtails its feed-in: the E3DC's EMS bit, else the entity."""
        for key in (CONF_GRID_ENTRY, CONF_BATTERY_ENTRY):
            value: bool | None
            value, has_role = self._role(key, "curtailed")
            if has_role and value is not None:
                return value
        entity_id = self.curtailment_entity
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None or state.state not in (STATE_ON, STATE_OFF):
            return None
        return state.state == STATE_ON

    def apply(self, site: SiteInput) -> SiteInput:
        """``site`` with the grid connection's inputs."""
        return dataclasses.replace(
            site,
            phase_currents=self.phase_currents(),
            dimmed=self.dimmed(),
            curtailed=self.curtailed(),
        )

    # -- after each decision --------------------------------------------------------------

    def after_decision(self, now: datetime, decision: Decision, site: SiteInput | None) -> None:
        """Events on transitions and the repair issues (the manager calls this each time).

        The dimming state is the one the decision saw (a fresh read without a site).
        """
        dimmed = bool(site.dimmed if site is not None else self.dimmed())
        signal = self.dimming_signal()
        # A signal not loaded yet (Home Assistant starting) caps the car, but gives no
        # event until it has been seen (the repair issue follows if it never comes).
        unseen = signal == SIGNAL_MISSING and self._dimmed is None
        if not unseen and dimmed != bool(self._dimmed):
            self._fire(
                EVENT_GRID_DIMMING,
                "started" if dimmed else "ended",
                cap=decision.dimming_cap,
                current=decision.current,
                dimming_power=self._dimming_power(),
                signal=signal,
            )
            LOGGER.info(
                "Grid operator dimming (§14a) %s (signal %s)",
                "started" if dimmed else "ended",
                signal,
            )
        if not unseen:
            self._dimmed = dimmed
        holding = decision.reason is Reason.FUSE_LIMIT
        if holding != self._fuse_holding:
            self._fire(
                EVENT_FUSE_LIMIT,
                "started" if holding else "ended",
                cap=decision.fuse_cap,
                current=decision.current,
                phase_currents=list(site.phase_currents)
                if site is not None and site.phase_currents
                else None,
            )
            LOGGER.info(
                "Main fuse limit %s (%s A)",
                "holds the current" if holding else "ended",
                decision.current,
            )
        self._fuse_holding = holding
        self._check_issues(now, site)

    def _fire(self, event_type: str, state: str, **data: Any) -> None:
        device = device_by_identifier(
            dr.async_get(self.hass), (DOMAIN, str(self.entry.unique_id)), self.entry.entry_id
        )
        self.hass.bus.async_fire(
            event_type,
            {
                "device_id": device.id if device else None,
                "entry_id": self.entry.entry_id,
                "state": state,
                **data,
            },
        )

    def _check_issues(self, now: datetime, site: SiteInput | None) -> None:
        missing = {
            # A fuse but nothing to compare it with (the stale site issue covers no site).
            ISSUE_FUSE_WITHOUT_PHASE_CURRENTS: self.fuse_current > 0
            and site is not None
            and site.phase_currents is None,
            ISSUE_DIMMING_UNAVAILABLE: self.dimming_signal() not in (None, STATE_ON, STATE_OFF),
        }
        for key, is_missing in missing.items():
            if not is_missing:
                self._missing_since.pop(key, None)
                self.issues.delete(key)
                continue
            since = self._missing_since.setdefault(key, now)
            # Nothing that could give phase currents: a setup problem, reported at once.
            at_once = key == ISSUE_FUSE_WITHOUT_PHASE_CURRENTS and not (
                self.phase_entities or self.meter_has_phase_currents()
            )
            if at_once or now - since >= LIMIT_REPAIR_AFTER:
                self.issues.raise_issue(key, **self._placeholders(key))

    def _placeholders(self, key: str) -> dict[str, str]:
        if key == ISSUE_DIMMING_UNAVAILABLE:
            return {"entity": str(self.dimming_entity), "power": f"{self._dimming_power():.0f}"}
        return {"fuse": f"{self.fuse_current:g}"}

    def _dimming_power(self) -> float:
        return float(self.entry.options.get(CONF_DIMMING_POWER, DEFAULTS.dimming_power))

    def diagnostics(self) -> dict[str, Any]:
        """The grid limits' sources and what they give now."""
        return {
            "phase_current_entities": list(self.phase_entities),
            "meter_has_phase_currents": self.meter_has_phase_currents(),
            "dimming_entity": self.dimming_entity,
            "dimming_signal": self.dimming_signal(),
            "curtailment_entity": self.curtailment_entity,
            "phase_currents": self.phase_currents(),
            "dimmed": self.dimmed(),
            "curtailed": self.curtailed(),
            "fuse_limit_holding": self._fuse_holding,
        }
