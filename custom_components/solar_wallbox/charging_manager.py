"""Surplus charging in Home Assistant: the loop from readings to a decision and a write.

The controller runs as a listener of the linked grid meter's coordinator, or of the grid
entities chosen instead (their state changes and reports): every fresh reading gives one
decision and at most one write. A timer re-evaluates between readings
so that stale inputs still lead to the safe state when the readings stop. Its inputs come
from charging_inputs.py, its repair issues from charging_issues.py, its memory across
restarts from store.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import event as event_helper
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.util import dt as dt_util

from .charging.controller import SurplusController
from .charging.model import (
    ChargeMode,
    Decision,
    Settings,
    SiteInput,
    UnknownTagPolicy,
    VehicleProfile,
    WallboxInput,
    mask_tag,
)
from .charging_inputs import FOLLOWED_LINKS, SiteSources, wallbox_input
from .charging_issues import ISSUE_CHARGER_UNREACHABLE, ChargingIssues
from .charging_plan import REPLAN, PlanKeeper, PlanMemory, VehicleBattery
from .const import (
    CONF_LIMIT_SOC_ENTITY,
    CONF_MAX_CURRENT,
    CONF_VEHICLE_SOC_ENTITY,
    CONF_VEHICLES,
    DEFAULT_MAX_CURRENT,
    ENTITY_SETTING_SCALES,
    EVENT_CHARGING_STARTED,
    EVENT_CHARGING_STOPPED,
    INT_SETTINGS,
    LOGGER,
)
from .drivers.modbus import ModbusError
from .store import ChargingMemory, ChargingStore, SessionMemory, tag_fingerprint

if TYPE_CHECKING:
    from .drivers.amtron import AmtronClient, AmtronData, AmtronIdentity
    from .models import DeviceRuntime, SolarWallboxConfigEntry

TICK: Final = timedelta(seconds=5)
DECISION_HISTORY: Final = 50
# Every change of reason or current, for hours back (a day of clouds is a few hundred).
CHANGE_HISTORY: Final = 500
# Units of the numbers in the diagnostics' decisions (their keys carry none).
DIAGNOSTICS_UNITS: Final = {
    "current": "A",
    "available_power": "W",
    "countdown": "s",
    "site.grid_power": "W (+ import)",
    "site.battery_power": "W (+ charging)",
    "site.battery_soc": "%",
    "site.pv_power": "W",
    "site.phase_currents": "A per phase",
    "wallbox.power": "W",
    "wallbox.currents": "A per phase",
    "wallbox.current_limit": "A",
    "wallbox.session_energy": "Wh",
    "wallbox.session_duration": "s",
    "wallbox.device_min_current": "A",
    "wallbox.device_max_current": "A",
    "state.start_energy": "Wh",
    "state.stop_energy": "Wh",
    "state.session_solar_energy": "Wh",
    "state.setpoint": "A",
}
# Options that map one to one onto controller settings (key = Settings field name).
OPTION_SETTINGS: Final = (
    "voltage",
    "min_charging_power",
    "battery_support_power",
    "start_energy",
    "stop_energy",
    "min_on_time",
    "min_off_time",
    "daily_start_budget",
    "hysteresis",
    "stale_timeout",
    "idle_current",
    "initial_current",
    "initial_duration",
    *("fuse_current", "fuse_margin", "dimming_power"),  # grid connection (charging_limits.py)
)


def settings_from_options(options: dict[str, Any]) -> Settings:
    """Controller settings from an Amtron entry's options (defaults for what is missing)."""
    base = Settings()
    changes: dict[str, Any] = {}
    for name in ("phases", *OPTION_SETTINGS):
        if name in options:
            value = options[name]
            changes[name] = int(value) if name in INT_SETTINGS else float(value)
    if "unknown_tag" in options:
        changes["unknown_tag"] = UnknownTagPolicy(options["unknown_tag"])
    changes["max_current"] = int(options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT))
    changes["vehicles"] = tuple(
        VehicleProfile(
            name=str(v["name"]),
            tag=str(v["tag"]),
            mode=ChargeMode(v["mode"]) if v.get("mode") in set(ChargeMode) else None,
            min_current=int(v["min_current"]) if v.get("min_current") else None,
            max_current=int(v["max_current"]) if v.get("max_current") else None,
            min_charging_power=float(v["min_charging_power"])
            if v.get("min_charging_power")
            else None,
            session_energy_limit=float(v.get("session_energy_limit") or 0) * 1000,
        )
        for v in options.get(CONF_VEHICLES, [])
    )
    return dataclasses.replace(base, **changes)


def solar_fraction(site: SiteInput | None, wallbox: WallboxInput) -> float | None:
    """The share (0..1) of the car's power that is surplus now; None without site data.

    What the grid or the home battery supplies is not solar; the rest of the car's power
    is.
    """
    if site is None:
        return None
    if wallbox.power <= 0:
        return 0.0
    from_grid = max(0.0, site.grid_power)
    from_battery = max(0.0, -(site.battery_power or 0.0))
    solar = max(0.0, wallbox.power - from_grid - from_battery)
    return min(solar, wallbox.power) / wallbox.power


class ChargingManager:
    """Runs the surplus controller for one wallbox entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SolarWallboxConfigEntry,
        device: DeviceRuntime[AmtronClient, AmtronIdentity, AmtronData],
        store: ChargingStore,
        memory: ChargingMemory,
    ) -> None:
        """Prepare the manager from its remembered state; :meth:`start` attaches it."""
        self.hass = hass
        self.entry = entry
        self.coordinator = device.coordinator
        self.client = device.client
        self.store = store
        self.sources = SiteSources(hass, entry)
        self.issues = ChargingIssues(hass, entry)
        self.plans = PlanKeeper(hass, entry, memory.plan)
        self._entity_settings: dict[str, float] = dict(memory.settings)
        self._entity_mode: ChargeMode | None = memory.mode
        self.settings = self._settings()
        self.controller = SurplusController(self.settings)
        self.controller.restore_lockout(memory.lockout)
        if memory.starts_date is not None:
            self.controller.restore_day(starts_today=memory.starts_today, day=memory.starts_date)
        self.enabled = memory.enabled
        self.decision: Decision | None = None
        self.history: deque[dict[str, Any]] = deque(maxlen=DECISION_HISTORY)
        self.changes: deque[dict[str, Any]] = deque(maxlen=CHANGE_HISTORY)
        # The session's solar energy (Wh); checked against the charger at the first reading.
        self._remembered_session = memory.session
        self.session_solar_energy = memory.session.solar_energy if memory.session else 0.0
        self._session_id: tuple[str | None, str | None] | None = None
        self._saved = memory
        self._closed = False
        self._session_last: datetime | None = None
        # The charger's session meter at the last reading (Wh) and the solar share then.
        self._metered: float | None = None
        self._solar_fraction: float | None = None
        self._vehicle: str | None = None
        self._listeners: list[Callable[[], None]] = []
        self._unsubs: dict[str, CALLBACK_TYPE] = {}
        self._followed: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._restored = False
        self._task: asyncio.Task[None] | None = None
        self._pending = False
        self._write_failing = False
        # Source of "now"; tests replace it (with the coordinators' clocks) to simulate hours.
        self.clock: Callable[[], datetime] = dt_util.utcnow

    # -- lifecycle ------------------------------------------------------------------------

    @callback
    def start(self) -> None:
        """Listen to the grid meter and run the timer; undone when the entry unloads."""
        self.entry.async_on_unload(
            async_track_time_interval(self.hass, self._async_tick, TICK, name="surplus tick")
        )
        self.entry.async_on_unload(self._detach_grid)
        self.entry.async_on_unload(self.sources.limits.follow(self._on_grid_reading))
        self.entry.async_on_unload(
            async_track_time_interval(self.hass, self._async_plan_tick, REPLAN, name="plan")
        )
        self._attach_grid()
        self._follow_entities()
        self._follow_plan_entities()
        self.entry.async_create_background_task(
            self.hass, self._async_plan_tick(None), "departure plan inputs"
        )

    @callback
    def _follow_plan_entities(self) -> None:
        """Re-plan when the price sensor or the vehicle's SoC entities change."""
        options = self.plans.options
        battery = options.battery
        entities = [
            e for e in (options.price_entity, battery.soc_entity, battery.limit_soc_entity) if e
        ]
        for vehicle in self.entry.options.get(CONF_VEHICLES, []):
            entities.extend(
                str(vehicle[key])
                for key in (CONF_VEHICLE_SOC_ENTITY, CONF_LIMIT_SOC_ENTITY)
                if vehicle.get(key)
            )
        if entities:
            self.entry.async_on_unload(
                async_track_state_change_event(
                    self.hass, sorted(set(entities)), self._on_plan_entity
                )
            )

    @callback
    def _on_plan_entity(self, event: Event[Any]) -> None:
        if event.data.get("entity_id") == self.plans.options.price_entity:
            self.plans.refresh_prices()
        self._on_grid_reading()

    async def _async_plan_tick(self, _now: datetime | None) -> None:
        """Fetch the forecast and the prices again (every REPLAN) and decide."""
        try:
            await self.plans.async_refresh_inputs(self.clock(), force=True)
        except Exception:  # another integration's fault must not stop the decisions
            LOGGER.warning("Departure plan: reading the forecast or prices failed", exc_info=True)
        await self.async_evaluate()

    @callback
    def _follow_entities(self) -> None:
        """Decide on every state change and report of the site's followed entities.

        A report is a state written again unchanged: a meter that sends the same value is
        a fresh reading too. ``async_track_state_report_event`` exists in every release
        we support (2025.4 on); looked up by name so that one without it still follows
        the changes.
        """
        entities = self.sources.followed_entities()
        if not entities:
            return
        self.entry.async_on_unload(
            async_track_state_change_event(self.hass, entities, self._on_entity_event)
        )
        track_reports: Any = getattr(event_helper, "async_track_state_report_event", None)
        if track_reports is not None:
            self.entry.async_on_unload(track_reports(self.hass, entities, self._on_entity_event))

    @callback
    def _detach_grid(self) -> None:
        for unsub in self._unsubs.values():
            unsub()
        self._unsubs.clear()
        self._followed.clear()

    @callback
    def _attach_grid(self) -> None:
        """Follow the grid meter's and the RCM's coordinators (they may load or reload later).

        Every fresh grid reading gives a decision; every RCM reading too, so that an alarm
        stops charging within one poll of the monitor.
        """
        for key in FOLLOWED_LINKS:
            coordinator = self.sources.coordinator(key)
            if coordinator is self._followed.get(key):
                continue
            if key in self._unsubs:
                self._unsubs.pop(key)()
                self._followed.pop(key, None)
            if coordinator is not None:
                self._followed[key] = coordinator
                self._unsubs[key] = coordinator.async_add_listener(self._on_grid_reading)

    def _settings(self) -> Settings:
        """The options' settings with what the user changed through entities on top."""
        settings = settings_from_options(dict(self.entry.options))
        changes: dict[str, Any] = dict(self._entity_settings)
        if changes.get("min_current", 0) > changes.get("max_current", settings.max_current):
            changes.pop("min_current")
        if self._entity_mode is not None:
            changes["mode"] = self._entity_mode
        return dataclasses.replace(settings, **changes)

    # -- memory (store.py) ------------------------------------------------------------------

    def memory(self) -> ChargingMemory:
        """What must survive a restart, as it is now."""
        session = None
        if self._session_id is not None or self.session_solar_energy > 0:
            start, tag = self._session_id or (None, None)
            data = self._wallbox_data()
            metered = data.session_energy if data is not None else None
            session = SessionMemory(
                solar_energy=round(self.session_solar_energy, 3),
                start=start,
                tag=tag,
                metered=float(metered) if metered is not None else None,
            )
        return ChargingMemory(
            lockout=self.controller.lockout,
            starts_today=self.controller.starts_today,
            starts_date=self.controller.starts_day,
            session=session,
            enabled=self.enabled,
            mode=self._entity_mode,
            settings=dict(self._entity_settings),
            plan=self.plans.memory,
        )

    async def _async_persist(self) -> None:
        """Save what changed: the lockout at once, everything else within a few seconds."""
        memory = self.memory()
        if memory == self._saved:
            return
        lockout_changed = memory.lockout != self._saved.lockout
        self._saved = memory
        if lockout_changed:
            await self.store.async_save_memory(memory)
        else:
            self.store.async_delay_save_memory(memory)

    async def async_close(self) -> None:
        """Stop deciding and write the memory now (the entry unloads; the next setup reads it)."""
        async with self._lock:
            self._closed = True
            self._saved = self.memory()
            await self.store.async_save_memory(self._saved)

    @callback
    def add_listener(self, update: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``update`` after each decision (entities refresh their state)."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    # -- user actions -----------------------------------------------------------------------

    async def async_set_enabled(self, enabled: bool) -> None:
        """Switch surplus charging on or off (off: nothing is written any more)."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        LOGGER.info("Surplus charging %s", "on" if enabled else "off")
        if not enabled:
            self.issues.surplus_off()
        await self.async_evaluate()

    async def async_update_setting(self, name: str, value: Any) -> None:
        """Change one controller setting (from an entity), remember it and decide again."""
        if name == "mode":
            self._entity_mode = ChargeMode(value)
        elif name in ENTITY_SETTING_SCALES:
            self._entity_settings[name] = value
        else:
            raise ValueError(name)
        self.settings = dataclasses.replace(self.settings, **{name: value})
        self.controller.settings = self.settings
        await self.async_evaluate()

    def note_manual_limit(self, current: int) -> None:
        """The user set the current limit by hand (surplus charging is off).

        Counted as the last value written, so that switching surplus charging on again
        does not take the user's value for another energy manager's.
        """
        self.controller.record_write(self.clock(), current)

    def vehicle_battery(self) -> VehicleBattery:
        """The battery settings of the vehicle connected now (the wallbox's without one)."""
        return self.plans.battery(self.settings, self._wallbox())

    async def async_set_plan(self, memory: PlanMemory) -> None:
        """Change the one-off departure plan (entities, the set_plan action), decide again."""
        self.plans.set_one_off(memory)
        await self.async_evaluate()

    async def async_acknowledge_rcm(self) -> None:
        """The user acknowledges the residual current alarm."""
        self.controller.acknowledge_rcm()
        LOGGER.info("Residual current alarm acknowledged")
        await self.async_evaluate()

    # -- inputs (charging_inputs.py) ------------------------------------------------------

    def _wallbox(self) -> WallboxInput | None:
        coordinator = self.coordinator
        if not coordinator.last_update_success or coordinator.data is None:
            return None
        return wallbox_input(coordinator.data, self._ceiling())

    def _ceiling(self) -> int:
        return int(self.entry.options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT))

    def _wallbox_data(self) -> AmtronData | None:
        reading = self.coordinator.data
        return reading.data if reading is not None else None

    # -- the loop ---------------------------------------------------------------------------

    @callback
    def _on_grid_reading(self) -> None:
        """A fresh reading: decide now, or right after the decision under way."""
        self._pending = True
        if self._task is None or self._task.done():
            self._task = self.entry.async_create_background_task(
                self.hass, self._run_pending(), "surplus decision"
            )

    @callback
    def _on_entity_event(self, _event: Event[Any]) -> None:
        """A followed entity was written (changed or reported): a fresh reading."""
        self._on_grid_reading()

    async def _run_pending(self) -> None:
        while self._pending:
            self._pending = False
            await self.async_evaluate()

    async def _async_tick(self, _now: datetime) -> None:
        self._attach_grid()
        await self.async_evaluate()

    async def async_evaluate(self) -> None:
        """Take one decision from the latest inputs and apply it."""
        async with self._lock:
            if self._closed:
                return
            await self._evaluate()
            await self._async_persist()
        for update in list(self._listeners):
            update()

    async def _evaluate(self) -> None:
        wallbox = self._wallbox()
        if not self.enabled:
            self.decision = None
            self.plans.after_decision(self.clock(), None, connected=False, active=False)
            return
        if wallbox is None:
            self.issues.raise_issue(ISSUE_CHARGER_UNREACHABLE)
            return
        self.issues.delete(ISSUE_CHARGER_UNREACHABLE)
        now = self.clock()
        self._restore_once(now, wallbox)
        site = self.sources.site()
        self.plans.note_pv(now, site)
        demand = self.plans.demand(now, self.settings, wallbox)
        decision = self.controller.decide(
            now,
            site,
            wallbox,
            self.sources.rcm(),
            today=dt_util.as_local(now).date(),
            demand=demand,
        )
        self.plans.after_decision(now, decision, connected=wallbox.connected)
        self._track_session(now, site, wallbox, decision)
        self.issues.check_stale(now, site, self.settings.stale_timeout)
        self.issues.check_overwritten(now, decision, wallbox, self.controller.last_written)
        self.issues.check_lockout(self.controller.lockout)
        if decision.write:
            await self._apply(now, decision, self._vehicle_label(decision, wallbox))
        self._log(decision, wallbox)
        self.decision = decision
        self._record(now, decision, site, wallbox)
        self.sources.limits.after_decision(now, decision, site)

    def _record(
        self, now: datetime, decision: Decision, site: SiteInput | None, wallbox: WallboxInput
    ) -> None:
        """Keep the decision with its inputs for diagnostics (one per distinct input)."""
        entry = {
            "at": now.isoformat(),
            "current": decision.current,
            "reason": decision.reason.value,
            "written": decision.write,
            "available_power": decision.available_power,
            "countdown": decision.countdown,
            "site": dataclasses.asdict(site) if site else None,
            "wallbox": {k: v for k, v in dataclasses.asdict(wallbox).items() if k != "rfid_tag"},
        }
        previous = self.changes[-1] if self.changes else None
        if previous is None or (previous["reason"], previous["current"]) != (
            entry["reason"],
            entry["current"],
        ):
            # Kept much longer than every decision: what happened an hour ago stays.
            self.changes.append(
                {k: entry[k] for k in ("at", "reason", "current", "available_power")}
            )
        last = self.history[-1] if self.history else None
        if (
            last is not None
            and not decision.write
            and all(last[k] == entry[k] for k in entry if k not in ("at", "countdown", "written"))
        ):
            # The same readings again (the RCM monitor's poll right after the grid
            # meter's): update instead of filling the history with copies.
            self.history[-1] = {**entry, "written": last["written"]}
            return
        self.history.append(entry)

    @property
    def rcm_alarm_active(self) -> bool:
        """True while the linked residual current monitor reports an alarm."""
        rcm = self.sources.rcm()
        return bool(rcm is not None and rcm.alarm)

    def _restore_once(self, now: datetime, wallbox: WallboxInput) -> None:
        """After a restart, continue a running session instead of pausing it first."""
        if self._restored:
            return
        self._restored = True
        if wallbox.connected and wallbox.current_limit and wallbox.power > 100:
            self.controller.restore(setpoint=wallbox.current_limit, now=now)
            self.controller.record_write(now, wallbox.current_limit)

    def _vehicle_label(self, decision: Decision, wallbox: WallboxInput) -> str | None:
        """The vehicle's name, or an unknown tag masked (for logs, events, the logbook)."""
        if decision.vehicle is None or not wallbox.connected:
            return None
        if self.settings.profile_for(wallbox.rfid_tag) is None:
            return f"unknown tag {mask_tag(decision.vehicle)}"
        return decision.vehicle

    async def _apply(self, now: datetime, decision: Decision, vehicle: str | None) -> None:
        try:
            await self.client.set_current_limit(decision.current, max_current=self._ceiling())
        except ModbusError as err:
            # Logged once until a write succeeds again (the repair issue stays meanwhile).
            log = LOGGER.debug if self._write_failing else LOGGER.warning
            log("Could not set the charging current to %s A: %s", decision.current, err)
            self._write_failing = True
            self.issues.raise_issue(ISSUE_CHARGER_UNREACHABLE)
            return
        if self._write_failing:
            self._write_failing = False
            LOGGER.info("Charging current set again (%s A)", decision.current)
        self.controller.record_write(now, decision.current)
        if decision.started or decision.stopped:
            event = EVENT_CHARGING_STARTED if decision.started else EVENT_CHARGING_STOPPED
            self.hass.bus.async_fire(
                event,
                {
                    "entry_id": self.entry.entry_id,
                    "current": decision.current,
                    "reason": decision.reason.value,
                    "vehicle": vehicle,
                },
            )

    def _track_session(
        self, now: datetime, site: SiteInput | None, wallbox: WallboxInput, decision: Decision
    ) -> None:
        """Count the solar part of the energy the charger meters for the session.

        Each increment of the charger's session meter counts as solar in the share the
        surplus had of the car's power at that time (the mean of the shares at the two
        readings around it). The meter runs on the charger's clock, so this is right
        however late or irregular the readings come; a charger that meters nothing falls
        back to integrating the solar power over time.
        """
        remembered, self._remembered_session = self._remembered_session, None
        if not wallbox.connected:
            self.session_solar_energy = 0.0
            self._session_last = None
            self._session_id = None
            self._metered = None
            self._solar_fraction = None
            return
        data = self._wallbox_data()
        start = data.session_start.isoformat() if data and data.session_start else None
        tag = tag_fingerprint(wallbox.rfid_tag)
        if remembered is not None and not remembered.continues(start, tag, wallbox.session_energy):
            # Home Assistant was down while one session ended and another began.
            self.session_solar_energy = 0.0
        # What identifies the session in the store; a value missing for one poll (0xFFFF)
        # keeps the one seen before.
        previous = self._session_id or (None, None)
        self._session_id = (start or previous[0], tag or previous[1])
        last, self._session_last = self._session_last, now
        fraction = solar_fraction(site, wallbox)
        previous_fraction, self._solar_fraction = self._solar_fraction, fraction
        metered = wallbox.session_energy
        if metered is not None:
            baseline, self._metered = self._metered, metered
            if baseline is None or metered < baseline:
                return  # the first reading, or the meter restarted: a new baseline
            shares = [f for f in (previous_fraction, fraction) if f is not None]
            if shares:  # no site reading at either end: the share is unknown, count none
                self.session_solar_energy += (metered - baseline) * sum(shares) / len(shares)
            return
        if self._metered is not None or last is None or fraction is None:
            return  # a meter value missing for one poll: the next increment covers it
        dt = min((now - last).total_seconds(), self.settings.stale_timeout)
        self.session_solar_energy += fraction * wallbox.power * dt / 3600

    def _log(self, decision: Decision, wallbox: WallboxInput) -> None:
        """Log lines as readable as the original tool's."""
        vehicle = self._vehicle_label(decision, wallbox)  # never a whole tag in the log
        if vehicle != self._vehicle:
            if vehicle is not None or wallbox.connected:
                LOGGER.info("Vehicle connected: %s", vehicle or "(no tag)")
            else:
                LOGGER.info("Vehicle disconnected (%s)", self._vehicle)
            self._vehicle = vehicle
        previous = self.decision.current if self.decision else None
        if previous is None or decision.current == previous:
            return
        direction = "increasing" if decision.current > previous else "reducing"
        if decision.available_power is None:
            LOGGER.info(
                "%s charging current to %s A (%s)",
                direction.capitalize(),
                decision.current,
                decision.reason.value,
            )
        else:
            LOGGER.info(
                "Surplus %.0f W, %s charging current to %s A (%s)",
                decision.available_power,
                direction,
                decision.current,
                decision.reason.value,
            )

    # -- diagnostics ------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Settings and the last decisions with their inputs."""
        settings = dataclasses.asdict(self.settings)
        settings["vehicles"] = [{**v, "tag": "**REDACTED**"} for v in settings.get("vehicles", [])]
        lockout = self.controller.lockout
        return {
            "enabled": self.enabled,
            "units": DIAGNOSTICS_UNITS,
            "sources": self.sources.describe(),
            "settings": settings,
            "state": {
                "lockout": {
                    "latched": lockout.latched,
                    "since": lockout.since.isoformat() if lockout.since else None,
                    "alarm": lockout.alarm,
                    "acknowledged": lockout.acknowledged,
                },
                "active_vehicle": self._vehicle,
                "starts_today": self.controller.starts_today,
                "start_energy": round(self.controller.start_energy, 1),
                "stop_energy": round(self.controller.stop_energy, 1),
                "session_solar_energy": round(self.session_solar_energy, 1),
                "setpoint": self.controller.setpoint,
            },
            "stored_state": self.memory().to_json(),
            "grid_limits": self.sources.limits.diagnostics(),
            "departure_plan": self.plans.diagnostics(),
            "changes": list(self.changes),
            "decisions": list(self.history),
        }
