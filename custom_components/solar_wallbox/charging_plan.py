"""Departure plans in Home Assistant: targets, the vehicle's SoC, re-planning, status.

The pure planner (charging/planner.py) makes the plan; this module gives it its inputs
and turns it into the controller's :class:`Demand` (README.md, "Departure plans"):

- **Target**: the one-off plan (the Departure entity and the target numbers, or the
  ``set_plan`` action; kept in the wallbox's Store) while its departure is ahead, else the
  next departure of the repeating plan (weekdays and a time, in the options).
- **Need**: with a SoC entity and a battery capacity, (target − SoC) × capacity ÷
  efficiency; else the target energy less the session's metered energy.
- **Re-plan**: every ``REPLAN`` and whenever the target, the vehicle, the plug, the
  forecast or the prices change; each decision then asks for, in this order: a stop at
  the limit SoC, full power below the minimum SoC, full power when only that still
  reaches the target (the guarantee), the reserved grid power of the current slot.
- **Events** (``solar_wallbox_plan``: set, impossible, reached) with logbook lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .charging.model import (
    Decision,
    Demand,
    PlanStatus,
    Reason,
    Settings,
    SiteInput,
    WallboxInput,
)
from .charging.planner import (
    PV_WINDOW,
    ForecastSlot,
    Plan,
    PlanRequest,
    PriceSlot,
    energy_needed,
    feasible,
    make_plan,
    plan_demand,
)
from .compat import device_by_identifier
from .const import (
    CONF_BATTERY_CAPACITY,
    CONF_CHARGING_EFFICIENCY,
    CONF_FEED_IN_TARIFF,
    CONF_FIXED_PRICE,
    CONF_FORECAST_ENTRIES,
    CONF_LIMIT_SOC,
    CONF_LIMIT_SOC_ENTITY,
    CONF_MIN_SOC,
    CONF_PLAN_HOUSE_LOAD,
    CONF_PLAN_TARGET_ENERGY,
    CONF_PLAN_TARGET_SOC,
    CONF_PLAN_TIME,
    CONF_PLAN_WEEKDAYS,
    CONF_PRICE_ENTITY,
    CONF_VEHICLE_SOC_ENTITY,
    CONF_VEHICLES,
    DOMAIN,
    EVENT_PLAN,
    LOGGER,
    WEEKDAYS,
)
from .plan_sources import (
    async_prices_from_action,
    async_solar_forecast,
    price_now,
    prices_from_state,
)
from .plan_sources import (
    finite_number as _number,
)

if TYPE_CHECKING:
    from .models import SolarWallboxConfigEntry

REPLAN: Final = timedelta(minutes=15)
NEED_STEP: Final = 1000.0  # Wh: a change of the need by this much re-plans at once
PV_SAMPLES: Final = 2000  # at most (a reading every second for half an hour)
INPUTS_REFRESH: Final = timedelta(minutes=15)
REPEAT_HORIZON: Final = 8  # days searched for the next departure of the repeating plan
# Decisions that charge from the grid whatever the sun (Fast: the user asked for it).
CHARGING_REASONS: Final = frozenset(
    {Reason.PLAN_GRID, Reason.PLAN_CATCH_UP, Reason.MIN_SOC, Reason.FAST}
)


@dataclass(frozen=True, slots=True)
class PlanMemory:
    """The one-off plan as kept in the Store (targets stay when the departure is cleared)."""

    departure: datetime | None = None
    target_soc: float | None = None  # %
    target_energy: float | None = None  # Wh
    # The last "impossible"/"reached" event sent: (type, departure), so that a restart
    # does not send it again for the same departure.
    announced: tuple[str, datetime] | None = None

    def to_json(self) -> dict[str, Any]:
        announced = self.announced
        return {
            "departure": self.departure.isoformat() if self.departure else None,
            "target_soc": self.target_soc,
            "target_energy": self.target_energy,
            "announced": [announced[0], announced[1].isoformat()] if announced else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> PlanMemory:
        """Parse what :meth:`to_json` wrote; anything else gives no plan (never raises)."""
        if not isinstance(data, Mapping):
            return cls()
        departure = data.get("departure")
        parsed = dt_util.parse_datetime(departure) if isinstance(departure, str) else None
        if parsed is not None and parsed.tzinfo is None:
            parsed = None
        return cls(
            departure=parsed,
            target_soc=_percent(data.get("target_soc")),
            target_energy=_positive(data.get("target_energy")),
            announced=_announced(data.get("announced")),
        )


def _announced(value: Any) -> tuple[str, datetime] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    kind, when = value
    parsed = dt_util.parse_datetime(when) if isinstance(when, str) else None
    if kind not in ("impossible", "reached") or parsed is None or parsed.tzinfo is None:
        return None
    return str(kind), parsed


def _percent(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and 0 <= number <= 100 else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


@dataclass(frozen=True, slots=True)
class VehicleBattery:
    """What the planner knows of the vehicle (options, a vehicle profile on top)."""

    capacity_wh: float = 0.0  # 0: not known (targets in energy only)
    efficiency: float = 0.9
    soc_entity: str | None = None
    limit_soc_entity: str | None = None
    limit_soc: float = 100.0  # % (100: no limit)
    min_soc: float = 0.0  # % (0: none)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """The departure plans' options of one wallbox."""

    battery: VehicleBattery = VehicleBattery()
    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    time: time | None = None
    target_soc: float | None = None  # % of the repeating plan
    target_energy: float | None = None  # Wh of the repeating plan
    forecast_entries: tuple[str, ...] = ()
    price_entity: str | None = None
    fixed_price: float | None = None
    feed_in_tariff: float = 0.0
    house_load: float = 400.0  # W

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PlanOptions:
        raw_time = options.get(CONF_PLAN_TIME)
        parsed = dt_util.parse_time(raw_time) if isinstance(raw_time, str) else None
        return cls(
            battery=battery_from(options, None),
            weekdays=frozenset(
                WEEKDAYS.index(d) for d in options.get(CONF_PLAN_WEEKDAYS, []) if d in WEEKDAYS
            ),
            time=parsed,
            target_soc=_positive(options.get(CONF_PLAN_TARGET_SOC)),
            target_energy=(_positive(options.get(CONF_PLAN_TARGET_ENERGY)) or 0.0) * 1000 or None,
            forecast_entries=tuple(options.get(CONF_FORECAST_ENTRIES) or ()),
            price_entity=options.get(CONF_PRICE_ENTITY) or None,
            fixed_price=_number(options.get(CONF_FIXED_PRICE)),
            feed_in_tariff=_number(options.get(CONF_FEED_IN_TARIFF)) or 0.0,
            house_load=max(_number(options.get(CONF_PLAN_HOUSE_LOAD, 400.0)) or 0.0, 0.0),
        )


def battery_from(options: Mapping[str, Any], profile: Mapping[str, Any] | None) -> VehicleBattery:
    """The vehicle's battery settings: the options', a profile's own values on top."""

    def pick(key: str) -> Any:
        if profile is not None and profile.get(key) not in (None, ""):
            return profile[key]
        return options.get(key)

    efficiency = _number(pick(CONF_CHARGING_EFFICIENCY))
    return VehicleBattery(
        capacity_wh=(_positive(pick(CONF_BATTERY_CAPACITY)) or 0.0) * 1000,
        efficiency=efficiency / 100 if efficiency and 50 <= efficiency <= 100 else 0.9,
        soc_entity=pick(CONF_VEHICLE_SOC_ENTITY) or None,
        limit_soc_entity=pick(CONF_LIMIT_SOC_ENTITY) or None,
        limit_soc=_percent(pick(CONF_LIMIT_SOC)) or 100.0,
        min_soc=_percent(pick(CONF_MIN_SOC)) or 0.0,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """The departure a plan is made for."""

    departure: datetime
    soc: float | None  # %
    energy: float | None  # Wh
    repeating: bool


class PlanKeeper:
    """The departure plan of one wallbox (the charging manager owns it)."""

    def __init__(
        self, hass: HomeAssistant, entry: SolarWallboxConfigEntry, memory: PlanMemory
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.memory = memory
        self.options = PlanOptions.from_options(entry.options)
        self.plan: Plan | None = None
        self.target: Target | None = None
        self.status = PlanStatus.NONE
        self.need_wh: float | None = None
        self.soc: float | None = None
        self.forecast: tuple[ForecastSlot, ...] = ()
        self.prices: tuple[PriceSlot, ...] = ()
        self.last_replan_ms: float | None = None
        self.max_power = 0.0  # W the car can take (as of the last decision)
        self._inputs_at: datetime | None = None
        self._action_prices: tuple[PriceSlot, ...] = ()  # Nord Pool / Tibber (their action)
        self._key: tuple[Any, ...] | None = None
        self._set_pending = False
        self._pv: deque[tuple[datetime, float]] = deque(maxlen=PV_SAMPLES)
        self._phases_seen: int | None = None
        self._plugged_at: datetime | None = None  # when the car was plugged in
        self._was_connected: bool | None = None  # at the last decision (None: none yet)
        self._demand: Demand | None = None  # what the last decision was asked for
        self._catching_up: datetime | None = None  # the departure the catch-up runs for

    # -- the one-off plan -----------------------------------------------------------------

    def set_one_off(self, memory: PlanMemory) -> None:
        """Take a changed one-off plan (``dataclasses.replace`` of :attr:`memory`)."""
        changed = memory != self.memory
        self.memory = memory
        self._key = None  # re-plan at the next decision
        if changed and memory.departure is not None:
            self._set_pending = True  # announced after the next decision (its new plan)

    # -- inputs ---------------------------------------------------------------------------

    def battery(self, settings: Settings, wallbox: WallboxInput | None) -> VehicleBattery:
        """The connected vehicle's battery settings (its profile's own values on top)."""
        profile = settings.profile_for(wallbox.rfid_tag) if wallbox and wallbox.connected else None
        if profile is None:
            return self.options.battery
        raw = next(
            (
                v
                for v in self.entry.options.get(CONF_VEHICLES, [])
                if str(v.get("tag", "")).casefold() == profile.tag.casefold()
            ),
            None,
        )
        return battery_from(self.entry.options, raw)

    def _state_number(self, entity_id: str | None) -> float | None:
        if not entity_id:
            return None
        state = self.hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        return _percent(state.state)

    def _soc_since(self, entity_id: str | None, since: datetime | None) -> bool:
        """The SoC entity was written (changed or reported) at or after ``since``."""
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None or since is None:
            return False
        written: datetime = getattr(state, "last_reported", None) or state.last_updated
        return written >= since

    def target_for(self, now: datetime) -> Target | None:
        """The one-off plan while its departure is ahead, else the repeating plan's next."""
        memory = self.memory
        ahead = memory.departure is not None and memory.departure > now
        if ahead and memory.departure is not None and (memory.target_soc or memory.target_energy):
            return Target(memory.departure, memory.target_soc, memory.target_energy, False)
        options = self.options
        if not options.weekdays or options.time is None:
            return None
        if not (options.target_soc or options.target_energy):
            return None
        local = dt_util.as_local(now)
        for days in range(REPEAT_HORIZON):
            day = (local + timedelta(days=days)).date()
            if day.weekday() not in options.weekdays:
                continue
            departure = datetime.combine(day, options.time, tzinfo=local.tzinfo)
            if departure > now:
                return Target(departure, options.target_soc, options.target_energy, True)
        return None

    async def async_refresh_inputs(self, now: datetime, *, force: bool = False) -> bool:
        """Fetch the forecast and the prices when due; True if they changed."""
        if not force and self._inputs_at is not None and now - self._inputs_at < INPUTS_REFRESH:
            return False
        self._inputs_at = now
        forecast = tuple(await async_solar_forecast(self.hass, list(self.options.forecast_entries)))
        changed = forecast != self.forecast
        self.forecast = forecast
        action: tuple[PriceSlot, ...] = ()
        if self.options.price_entity:
            action = tuple(await async_prices_from_action(self.hass, self.options.price_entity))
        changed = action != self._action_prices or changed
        self._action_prices = action
        return self.refresh_prices() or changed

    def refresh_prices(self) -> bool:
        """Read the price sensor again; True if the prices changed."""
        prices: tuple[PriceSlot, ...] = self._action_prices
        if self.options.price_entity and not prices:
            state = self.hass.states.get(self.options.price_entity)
            prices = tuple(prices_from_state(state))
            if not prices and (value := price_now(state)) is not None:
                # A sensor with the current price only: it counts for this hour.
                start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
                prices = (PriceSlot(start, start + timedelta(hours=1), value),)
        changed = prices != self.prices
        self.prices = prices
        return changed

    # -- the demand -----------------------------------------------------------------------

    def note_pv(self, now: datetime, site: SiteInput | None) -> None:
        """Remember the measured PV power (the last PV_WINDOW) for the forecast check."""
        if site is None or site.pv_power is None:
            return
        self._pv.append((site.measured_at, max(site.pv_power, 0.0)))
        while self._pv and now - self._pv[0][0] > PV_WINDOW:
            self._pv.popleft()

    def pv_measured(self) -> tuple[datetime, datetime, float] | None:
        """The mean measured PV over the samples kept, with their span (None: too few)."""
        if len(self._pv) < 2 or self._pv[-1][0] - self._pv[0][0] < PV_WINDOW / 2:
            return None
        mean = sum(value for _, value in self._pv) / len(self._pv)
        return self._pv[0][0], self._pv[-1][0], mean

    def demand(self, now: datetime, settings: Settings, wallbox: WallboxInput) -> Demand | None:
        """What the vehicle's SoC and the plan ask of this decision (re-plans when due)."""
        battery = self.battery(settings, wallbox)
        self.soc = self._state_number(battery.soc_entity)
        limit = self._state_number(battery.limit_soc_entity) or battery.limit_soc
        target = self.target_for(now)
        self.target = target
        connected = wallbox.connected
        # The phases the car was seen drawing on in this plug-in (as the controller keeps
        # them): a 1-phase car that pauses must not be planned with three.
        # When the car was plugged in, on the wall clock (it is compared with the SoC
        # entity's write time): seen happen, or after a restart the charger's session time.
        if not connected:
            self._phases_seen = None
            self._plugged_at = None
        elif self._plugged_at is None:
            seen = self._was_connected is False
            duration = 0.0 if seen else wallbox.session_duration or 0.0
            self._plugged_at = dt_util.utcnow() - timedelta(seconds=duration)
        self._was_connected = connected
        if connected and wallbox.power > 100 and wallbox.active_phases > 0:
            self._phases_seen = wallbox.active_phases
        phases = self._phases_seen or settings.phases
        # The vehicle's current range as the controller applies it (its profile's first).
        profile = settings.profile_for(wallbox.rfid_tag) if connected else None
        high = min(
            (profile.max_current if profile and profile.max_current else settings.max_current),
            settings.max_current,
            wallbox.device_max_current or settings.max_current,
        )
        low = profile.min_current if profile and profile.min_current else settings.min_current
        max_power = self.max_power = high * settings.voltage * phases
        min_power = (
            (profile.min_charging_power if profile else None)
            or settings.min_charging_power
            or low * settings.voltage * phases
        )
        if target is None:
            self.plan, self.need_wh = None, None
        else:
            target_soc = min(target.soc, limit) if target.soc is not None else None
            delivered = wallbox.session_energy or 0.0 if connected else 0.0
            self.need_wh = energy_needed(
                soc=self.soc,
                target_soc=target_soc,
                capacity_wh=battery.capacity_wh,
                efficiency=battery.efficiency,
                target_wh=target.energy,
                delivered_wh=delivered,
            )
            plug = (connected, wallbox.rfid_tag if connected else None)
            self._replan(now, target, max_power, min_power, plug)
        self._demand = self._demand_now(now, connected, battery, limit, max_power, target)
        if self._demand is None or self._demand.reason is not Reason.PLAN_CATCH_UP:
            self._catching_up = None
        elif target is not None:
            self._catching_up = target.departure
        return self._demand

    def _demand_now(
        self,
        now: datetime,
        connected: bool,
        battery: VehicleBattery,
        limit: float,
        max_power: float,
        target: Target | None,
    ) -> Demand | None:
        if not connected:
            return None
        # The limit stops charging only on a SoC written since the plug-in: a car that does
        # not report while it sleeps may still show its level from before the drive.
        fresh = self._soc_since(battery.soc_entity, self._plugged_at)
        if self.soc is not None and limit < 100 and self.soc >= limit and fresh:
            return Demand(stop=True, reason=Reason.SOC_LIMIT)
        if self.soc is not None and battery.min_soc > 0 and self.soc < battery.min_soc:
            return Demand(power=max_power, reason=Reason.MIN_SOC)
        if target is None:
            return None
        catching_up = self._catching_up == target.departure
        return plan_demand(
            self.plan, self.need_wh, max_power, now, target.departure, catching_up=catching_up
        )

    def _replan(
        self,
        now: datetime,
        target: Target,
        max_power: float,
        min_power: float,
        plug: tuple[bool, str | None],
    ) -> None:
        need = self.need_wh
        if need is None:
            self.plan = None
            return
        # A new plan when anything but the need's slow drift changed (the target, the car's
        # power, the forecast, the prices, a plug-in or another vehicle), and every REPLAN.
        bucket = round(need / NEED_STEP)  # a SoC that arrives late, not the slow drift
        key = (target, round(max_power), round(min_power), self.forecast, self.prices, plug, bucket)
        made = self.plan.made_at if self.plan is not None else None
        if key == self._key and made is not None and now - made < REPLAN:
            return
        self._key = key
        started = dt_util.utcnow()
        self.plan = make_plan(
            PlanRequest(
                now=now,
                departure=target.departure,
                need_wh=need,
                max_power=max_power,
                min_power=min_power,
                forecast=self.forecast,
                prices=self.prices,
                fixed_price=self.options.fixed_price,
                house_w=self.options.house_load,
                feed_in_tariff=self.options.feed_in_tariff,
                pv_measured=self.pv_measured(),
            )
        )
        self.last_replan_ms = (dt_util.utcnow() - started).total_seconds() * 1000
        LOGGER.debug(
            "Plan for %s: %.0f Wh needed, %.0f Wh from the sun, %.0f Wh from the grid",
            target.departure.isoformat(),
            need,
            self.plan.solar_wh,
            self.plan.grid_wh,
        )

    # -- status and events ----------------------------------------------------------------

    def after_decision(
        self, now: datetime, decision: Decision | None, *, connected: bool, active: bool = True
    ) -> None:
        """The plan's status after a decision, and its events (impossible, reached).

        ``active`` False: surplus charging is off, so no plan acts (status none).
        """
        status = self._status(now, decision, connected) if active else PlanStatus.NONE
        self.status = status
        if self._set_pending:
            self._set_pending = False
            if self.memory.departure is not None and self.memory.departure > now:
                self._fire("set", departure=self.memory.departure)
        target = self.target
        if target is None:
            return
        if status is PlanStatus.TARGET_IMPOSSIBLE and connected:
            self._announce("impossible", target)  # not for a car that is away
        elif status is PlanStatus.TARGET_REACHED and connected:
            self._announce("reached", target)

    def _status(self, now: datetime, decision: Decision | None, connected: bool) -> PlanStatus:
        target, need, plan = self.target, self.need_wh, self.plan
        if target is None or need is None:
            return PlanStatus.NONE
        if need <= 0:
            return PlanStatus.TARGET_REACHED
        if not feasible(need, self.max_power, now, target.departure):
            return PlanStatus.TARGET_IMPOSSIBLE
        charging = connected and decision is not None and decision.current > 0
        demanded = self._demand is not None and self._demand.power > 0
        # A demand charges from the grid even when a cap (fuse, §14a) gives the reason.
        if charging and decision is not None and (demanded or decision.reason in CHARGING_REASONS):
            return PlanStatus.CHARGING_NOW
        if charging:
            return PlanStatus.CHARGING_FROM_SUN
        if plan is not None and plan.next_grid_slot(now) is not None:
            return PlanStatus.CHARGING_PLANNED
        return PlanStatus.WAITING_FOR_SUN

    def _announce(self, kind: str, target: Target) -> None:
        if self.memory.announced == (kind, target.departure):
            return
        self.memory = replace(self.memory, announced=(kind, target.departure))  # kept
        self._fire(kind, departure=target.departure)

    def _fire(self, kind: str, *, departure: datetime) -> None:
        device = device_by_identifier(
            dr.async_get(self.hass), (DOMAIN, str(self.entry.unique_id)), self.entry.entry_id
        )
        plan = self.plan
        self.hass.bus.async_fire(
            EVENT_PLAN,
            {
                "device_id": device.id if device else None,
                "entry_id": self.entry.entry_id,
                "type": kind,
                "departure": departure.isoformat(),
                "need": round(self.need_wh, 1) if self.need_wh is not None else None,
                "grid_energy": round(plan.grid_wh, 1) if plan else None,
            },
        )

    def attributes(self) -> dict[str, Any]:
        """The plan's slots for a chart card (the status sensor's attributes)."""
        plan, target = self.plan, self.target
        if plan is None or target is None:
            return {}
        return {
            "departure": target.departure.isoformat(),
            "repeating": target.repeating,
            "target_soc": target.soc,
            "target_energy": round(target.energy / 1000, 3) if target.energy else None,
            "need": round((self.need_wh or 0.0) / 1000, 3),
            "margin": round(plan.margin, 2),
            "solar_value": round(plan.solar_value, 4),
            "slots": [
                {
                    "start": slot.start.isoformat(),
                    "end": slot.end.isoformat(),
                    "solar_power": round(slot.solar_w),
                    "grid_power": round(slot.grid_w),
                    "price": slot.price,
                }
                for slot in plan.slots
                if slot.solar_w > 0 or slot.grid_w > 0
            ],
        }

    def diagnostics(self) -> dict[str, Any]:
        """The plan's inputs and result (energies in Wh, powers in W)."""
        plan = self.plan
        return {
            "status": self.status.value,
            "one_off": self.memory.to_json(),
            "soc": self.soc,
            "need": None if self.need_wh is None else round(self.need_wh, 1),
            "max_power": round(self.max_power),
            "forecast_periods": len(self.forecast),
            "price_slots": len(self.prices),
            "last_replan_ms": None
            if self.last_replan_ms is None
            else round(self.last_replan_ms, 2),
            "plan": None
            if plan is None
            else {
                "made_at": plan.made_at.isoformat(),
                "feasible": plan.feasible,
                "grid": round(plan.grid_wh, 1),
                "solar": round(plan.solar_wh, 1),
                "cost": plan.cost,
                "margin": round(plan.margin, 3),
            },
            **self.attributes(),
        }
