"""Physical model of one site (PV, house, home battery, grid) stepped in simulated time.

Sign conventions follow E3DC: grid + import / − export, battery + charging / − discharging,
`additional_feeder_w` negative while producing. At every instant

    pv_w − additional_feeder_w + grid_w = battery_w + house_w

holds exactly (up to float rounding). `house_w` includes every entry of `loads` (a wallbox
on the house circuit adds itself there), so the battery and the grid react to it.

With a feed-in limit (`SiteModel.feed_in_limit_w`) the inverter curtails its PV so that the
export never exceeds the limit: `pv_w` is then below `pv_available_w` (what the panels
could give), `curtailed` is True, and a load switched on takes the curtailed power first
(the export stays at the limit until the curtailment is used up). The home battery
charges from the available PV, as a hybrid inverter's own control does. The curtailment
acts within the same second (an idealisation: a real inverter needs a second or two).
"""

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

DAY_S = 86400.0

type PhasePower = tuple[float, float, float]
"""Three values for L1, L2, L3 (watts or shares)."""

type LoadValue = float | PhasePower
"""A load in watts: one number is spread evenly over the phases, a triple is per phase."""

SYMMETRIC: PhasePower = (1 / 3, 1 / 3, 1 / 3)


class DcString(NamedTuple):
    """Operating point of one PV string."""

    voltage_v: float
    current_a: float
    power_w: float


@dataclass(frozen=True)
class PvProfile:
    """Clear-sky day curve of the PV generator plus randomly passing clouds."""

    peak_w: float = 8000.0
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    flat: bool = False
    """Produce `peak_w` around the clock (test scenario)."""
    clouds_per_h: float = 0.0
    """Mean rate at which clouds start passing."""
    cloud_duration_s: tuple[float, float] = (20.0, 300.0)
    cloud_cut: tuple[float, float] = (0.4, 0.8)
    """Fraction of PV power a cloud removes (uniform in this range)."""
    cloud_edge_s: float = 5.0
    """Ramp time at the start and end of a cloud."""
    cloud_hours: tuple[float, float] = (0.0, 24.0)
    """Local hours in which clouds may start (e.g. afternoon thunderstorms)."""
    string_shares: tuple[float, ...] = (0.55, 0.45)
    string_mpp_v: tuple[float, ...] = (610.0, 520.0)

    def clear_sky_w(self, t_s: float) -> float:
        """PV power without clouds at `t_s` seconds after midnight."""
        if self.flat:
            return self.peak_w
        hour = t_s / 3600.0
        if not self.sunrise_h < hour < self.sunset_h:
            return 0.0
        x = (hour - self.sunrise_h) / (self.sunset_h - self.sunrise_h)
        return self.peak_w * math.pow(math.sin(math.pi * x), 1.5)


@dataclass(frozen=True)
class Appliance:
    """A house appliance switched on at random times."""

    name: str
    power_w: float
    duration_s: tuple[float, float]
    starts_per_h: float
    phases: PhasePower = SYMMETRIC
    """Share of the power on L1, L2, L3 (sums to 1)."""
    hours: tuple[float, float] = (0.0, 24.0)
    """Local hours in which it may be switched on."""
    schedule: tuple[tuple[float, float], ...] = ()
    """Fixed runs besides the random ones: (local start hour, duration in s) each, e.g.
    ``((18.5, 2700.0),)`` for a cooker every day from 18:30 for 45 minutes. A scheduled run
    draws no random numbers; with `starts_per_h` 0 the appliance runs only as scheduled."""


DEFAULT_APPLIANCES: tuple[Appliance, ...] = (
    Appliance("kettle", 2000.0, (90.0, 240.0), 0.5, (1.0, 0.0, 0.0), (6.0, 23.0)),
    Appliance("cooker", 3000.0, (900.0, 2700.0), 0.12, SYMMETRIC, (11.0, 20.0)),
    Appliance("heat_pump", 2200.0, (1200.0, 3600.0), 0.35),
)


@dataclass(frozen=True)
class HouseProfile:
    """Household consumption: constant base load plus random appliance spikes."""

    base_w: float = 350.0
    base_phases: PhasePower = (0.45, 0.35, 0.20)
    appliances: tuple[Appliance, ...] = DEFAULT_APPLIANCES


@dataclass(frozen=True)
class BatteryConfig:
    """Home battery limits and controller dynamics."""

    capacity_wh: float = 10000.0
    max_charge_w: float = 3000.0
    max_discharge_w: float = 3000.0
    soc_min_pct: float = 5.0
    soc_max_pct: float = 100.0
    time_constant_s: float = 2.0
    """First-order lag of the battery controller; grid transients last a few of these."""


@dataclass
class EnergyCounters:
    """Energies integrated by the model since it was created (never reset)."""

    pv_wh: float = 0.0
    additional_production_wh: float = 0.0
    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    battery_charge_wh: float = 0.0
    battery_discharge_wh: float = 0.0
    house_wh: float = 0.0
    curtailed_wh: float = 0.0
    """PV the inverter did not produce because of the feed-in limit."""


@dataclass
class _Event:
    """A running cloud or appliance, in model elapsed seconds."""

    start_s: float
    end_s: float
    level: float
    phases: PhasePower = SYMMETRIC


class SiteModel:
    """PV, house, home battery and grid of one site.

    Test hooks: `pv_override` (the available PV: a feed-in limit still curtails it),
    `house_override` (the household part, `loads` come on top), `battery_override` pin
    values exactly; `battery_enabled = False` makes the grid take everything; `soc_pct`
    and `feed_in_limit_w` (W, None = no limit) may be assigned. Values read back
    immediately; `step()` advances time, clouds, appliances, the battery controller and the
    energy counters.
    """

    def __init__(
        self,
        pv: PvProfile | None = None,
        house: HouseProfile | None = None,
        battery: BatteryConfig | None = None,
        *,
        seed: int = 0,
        start_s: float = 12 * 3600.0,
        soc_pct: float = 50.0,
        day_start: float | None = None,
        feed_in_limit_w: float | None = None,
    ) -> None:
        """Create the model at `start_s` seconds after local midnight, battery settled."""
        self.pv_profile = pv if pv is not None else PvProfile()
        self.house_profile = house if house is not None else HouseProfile()
        self.battery_config = battery if battery is not None else BatteryConfig()
        self.rng = random.Random(seed)
        self.t_s = start_s % DAY_S
        """Simulated seconds since local midnight of the simulated day."""
        self.day_start = day_start if day_start is not None else _local_midnight()
        """Unix time of the simulated day's midnight (days are 86400 s; DST ignored)."""
        self.elapsed_s = 0.0
        self.soc_pct = soc_pct
        self.battery_enabled = True
        self.pv_override: float | None = None
        self.house_override: float | None = None
        self.battery_override: float | None = None
        self.feed_in_limit_w = feed_in_limit_w
        """Most export the grid operator allows (W, ≥ 0); None = no limit."""
        self.last_pv_w = 0.0
        """PV produced in the last second `replay` stepped (after the curtailment)."""
        self.additional_feeder_w = 0.0
        """Additional feeders (E3DC 40075 convention: negative while producing)."""
        self.loads: dict[str, LoadValue] = {}
        """Extra loads on the house circuit, e.g. ``loads["wallbox"] = 7000.0``."""
        self.steppers: list[Callable[[float], None]] = []
        """Called with `dt_s` on every `step()`, after the clock advanced and before the
        battery controller and the energy counters: devices with their own dynamics (the
        wallbox and its car) update their entry in `loads` here."""
        self.energy = EnergyCounters()
        self._cloud: _Event | None = None
        self._appliances: dict[str, _Event] = {}
        self._battery_w = self._battery_target_w()

    @staticmethod
    def scenario(name: str, *, seed: int = 0, start_s: float = 12 * 3600.0) -> "SiteModel":
        """Build a named scenario: see `SCENARIOS`."""
        try:
            factory = SCENARIOS[name]
        except KeyError:
            raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
        return factory(seed, start_s)

    # Instantaneous values -------------------------------------------------------------

    @property
    def unix_time(self) -> float:
        """Simulated wall-clock time."""
        return self.day_start + self.t_s

    @property
    def clear_sky_pv_w(self) -> float:
        """PV power the profile gives without clouds at the current time."""
        return self.pv_profile.clear_sky_w(self.t_s)

    @property
    def cloud_cut(self) -> float:
        """Fraction of PV power removed by the passing cloud (0 when clear)."""
        cloud = self._cloud
        if cloud is None:
            return 0.0
        edge = max(self.pv_profile.cloud_edge_s, 1e-9)
        since, until = self.elapsed_s - cloud.start_s, cloud.end_s - self.elapsed_s
        ramp = min(1.0, since / edge, until / edge)
        return cloud.level * max(0.0, ramp)

    @property
    def pv_available_w(self) -> float:
        """PV power the panels could give now (≥ 0), before any curtailment."""
        if self.pv_override is not None:
            return self.pv_override
        return self.clear_sky_pv_w * (1.0 - self.cloud_cut)

    @property
    def pv_w(self) -> float:
        """PV power produced (≥ 0): the available power, curtailed so that the export
        stays at `feed_in_limit_w`."""
        available = self.pv_available_w
        limit = self.feed_in_limit_w
        if limit is None:
            return available
        # export = pv − house − battery − feeder ≤ limit
        allowed = limit + self.house_w + self.battery_w + self.additional_feeder_w
        return min(available, max(allowed, 0.0))

    @property
    def curtailed_w(self) -> float:
        """PV power the inverter holds back because of the feed-in limit (≥ 0)."""
        return self.pv_available_w - self.pv_w

    @property
    def curtailed(self) -> bool:
        """Whether the inverter curtails now (E3DC EMS status bit 4)."""
        return self.curtailed_w > 0.0

    @property
    def running_appliances(self) -> tuple[str, ...]:
        """Names of the appliances currently switched on."""
        return tuple(self._appliances)

    @property
    def household_w(self) -> float:
        """House consumption without `loads` (base load and appliances, or the override)."""
        if self.house_override is not None:
            return self.house_override
        return self.house_profile.base_w + sum(a.level for a in self._appliances.values())

    def household_phase_w(self) -> PhasePower:
        """Household consumption per phase, without `loads` (sums to `household_w`)."""
        l1, l2, l3 = (math.fsum(phase) for phase in zip(*self._household_parts(), strict=True))
        return (l1, l2, l3)

    def _household_parts(self) -> list[PhasePower]:
        """The household's loads per phase: the base load (or the override) and appliances."""
        profile = self.house_profile
        if self.house_override is not None:
            return [_split(self.house_override, profile.base_phases)]
        parts = [_split(profile.base_w, profile.base_phases)]
        parts += [_split(a.level, a.phases) for a in self._appliances.values()]
        return parts

    @property
    def house_w(self) -> float:
        """Total house consumption including `loads`."""
        return self.household_w + sum(sum(_phase_values(v)) for v in self.loads.values())

    @property
    def battery_w(self) -> float:
        """Battery power, + charging / − discharging."""
        if self.battery_override is not None:
            return self.battery_override
        return self._battery_w if self.battery_enabled else 0.0

    @property
    def grid_w(self) -> float:
        """Grid power, + import / − export."""
        return self.house_w + self.battery_w - self.pv_w + self.additional_feeder_w

    @property
    def autarky_pct(self) -> float:
        """Share of the house consumption not imported from the grid."""
        house = self.house_w
        if house <= 0:
            return 100.0
        return _clamp(100.0 * (1.0 - max(self.grid_w, 0.0) / house), 0.0, 100.0)

    @property
    def self_consumption_pct(self) -> float:
        """Share of the local production (PV and additional feeders) not exported."""
        production = self.pv_w - self.additional_feeder_w
        if production <= 0:
            return 0.0
        return _clamp(100.0 * (1.0 - max(-self.grid_w, 0.0) / production), 0.0, 100.0)

    def house_phase_w(self) -> PhasePower:
        """House consumption per phase (sums to `house_w`)."""
        parts = self._household_parts()
        parts += [_phase_values(load) for load in self.loads.values()]
        l1, l2, l3 = (math.fsum(phase) for phase in zip(*parts, strict=True))
        return (l1, l2, l3)

    def grid_phase_w(self) -> PhasePower:
        """Grid power per phase (sums to `grid_w`); inverters feed symmetrically."""
        inverter = (self.battery_w - self.pv_w + self.additional_feeder_w) / 3.0
        l1, l2, l3 = self.house_phase_w()
        return (l1 + inverter, l2 + inverter, l3 + inverter)

    def pv_strings(self) -> tuple[DcString, ...]:
        """Voltage, current and power of each PV string (power split by `string_shares`)."""
        profile = self.pv_profile
        pv = self.pv_w
        strings: list[DcString] = []
        for share, mpp_v in zip(profile.string_shares, profile.string_mpp_v, strict=True):
            power = pv * share
            if power <= 0:
                strings.append(DcString(0.0, 0.0, 0.0))
                continue
            relative = min(1.0, power / max(profile.peak_w * share, 1.0))
            voltage = mpp_v * (0.85 + 0.15 * relative)
            strings.append(DcString(voltage, power / voltage, power))
        return tuple(strings)

    # Time stepping --------------------------------------------------------------------

    def step(self, dt_s: float) -> None:
        """Advance the model by `dt_s` simulated seconds and integrate the energies."""
        self._advance_clock(dt_s)
        self._step_clouds(dt_s)
        self._step_appliances(dt_s)
        for stepper in self.steppers:
            stepper(dt_s)
        self._step_battery(dt_s)
        self._integrate(dt_s)

    def step_weather(self, dt_s: float) -> None:
        """Only the clock, the clouds and the appliances of `step` (the same random draws):
        for recording a day's PV and household load; no battery, loads or counters."""
        self._advance_clock(dt_s)
        self._step_clouds(dt_s)
        self._step_appliances(dt_s)

    def step_pinned(self, dt_s: float) -> None:
        """`step` without drawing clouds and appliances: for a model whose PV and household
        load are pinned by `pv_override` and `house_override` (the benchmark replays a
        recorded day this way). Steppers, the battery and the counters run as in `step`."""
        if self.pv_override is None or self.house_override is None:
            raise ValueError("step_pinned needs pv_override and house_override")
        self._advance_clock(dt_s)
        for stepper in self.steppers:
            stepper(dt_s)
        self._step_battery(dt_s)
        self._integrate(dt_s)

    def replay(
        self,
        pv_w: Sequence[float],
        house_w: Sequence[float],
        after: Callable[[int, float, float, float], float] | None = None,
        load_w: float = 0.0,
    ) -> None:
        """`step_pinned(1.0)` once per pair of PV and household values, with the same
        arithmetic but much faster (the benchmark's days). Only for a plain site: no
        steppers, no `loads`, no battery override, no additional feeders.

        One extra load can take part: ``load_w`` is its power during the first second;
        ``after(i, battery_w, soc_pct, grid_w)`` is called at the end of second ``i`` and
        returns the load's power for the next second (like a stepper that sets
        ``loads[...]``, whose sum of phases this is). PV values are the available PV: a
        feed-in limit curtails them as in `step`; `last_pv_w` holds the PV produced in the
        second just stepped (read it in ``after``)."""
        if self.steppers or any(self.loads.values()) or self.additional_feeder_w:
            raise ValueError("replay needs a site without steppers, loads and feeders")
        if self.battery_override is not None or not self.battery_enabled:
            raise ValueError("replay needs the battery controller")
        config = self.battery_config
        tau = config.time_constant_s
        alpha = 1.0 - math.exp(-1.0 / tau) if tau > 0 else 1.0
        max_c, max_d = config.max_charge_w, config.max_discharge_w
        soc_min, soc_max, capacity = config.soc_min_pct, config.soc_max_pct, config.capacity_wh
        hours = 1.0 / 3600.0
        energy = self.energy
        battery, soc = self._battery_w, self.soc_pct
        pv_wh = energy.pv_wh
        house_wh = energy.house_wh
        imported, exported = energy.grid_import_wh, energy.grid_export_wh
        charged, discharged = energy.battery_charge_wh, energy.battery_discharge_wh
        curtailed = energy.curtailed_wh
        limit = self.feed_in_limit_w
        load = load_w
        count = 0
        p = h = 0.0
        for i, (p, h) in enumerate(zip(pv_w, house_w, strict=True)):
            count += 1
            house = h + load
            target = min(max(p - 0.0 - house, -max_d), max_c)
            if (target > 0 and soc >= soc_max) or (target < 0 and soc <= soc_min):
                target = 0.0
            power = battery + (target - battery) * alpha
            room_wh = (soc_max - soc) / 100.0 * capacity
            stored_wh = (soc - soc_min) / 100.0 * capacity
            # _clamp(power, low, high) with the same low and high as `_step_battery`.
            power = min(
                max(power, -max_d, -max(stored_wh, 0.0) * 3600.0 / 1.0),
                max_c,
                max(room_wh, 0.0) * 3600.0 / 1.0,
            )
            battery = power
            new_soc = soc + power * 1.0 / 3600.0 / capacity * 100.0
            if power > 0:
                new_soc = min(new_soc, max(soc_max, soc))
            elif power < 0:
                new_soc = max(new_soc, min(soc_min, soc))
            soc = new_soc
            produced = p
            if limit is not None:
                produced = min(p, max(limit + house + battery, 0.0))
                curtailed += (p - produced) * hours
            self.last_pv_w = produced
            grid = house + battery - produced + 0.0
            pv_wh += produced * hours
            house_wh += house * hours
            imported += max(grid, 0.0) * hours
            exported += max(-grid, 0.0) * hours
            charged += max(battery, 0.0) * hours
            discharged += max(-battery, 0.0) * hours
            if after is not None:
                load = after(i, battery, soc, grid)
        if not count:
            return
        self._battery_w, self.soc_pct = battery, soc
        energy.pv_wh, energy.house_wh = pv_wh, house_wh
        energy.grid_import_wh, energy.grid_export_wh = imported, exported
        energy.battery_charge_wh, energy.battery_discharge_wh = charged, discharged
        energy.curtailed_wh = curtailed
        self.pv_override, self.house_override = p, h
        self._advance_clock(float(count))

    def _advance_clock(self, dt_s: float) -> None:
        if dt_s < 0:
            raise ValueError("dt_s must not be negative")
        self.elapsed_s += dt_s
        self.t_s += dt_s
        while self.t_s >= DAY_S:
            self.t_s -= DAY_S
            self.day_start += DAY_S

    def _step_clouds(self, dt_s: float) -> None:
        profile = self.pv_profile
        if self._cloud is not None and self.elapsed_s >= self._cloud.end_s:
            self._cloud = None
        first, last = profile.cloud_hours
        if (
            self._cloud is None
            and first <= self.t_s / 3600.0 < last
            and _starts(self.rng, profile.clouds_per_h, dt_s)
        ):
            duration = self.rng.uniform(*profile.cloud_duration_s)
            cut = self.rng.uniform(*profile.cloud_cut)
            self._cloud = _Event(self.elapsed_s, self.elapsed_s + duration, cut)

    def _step_appliances(self, dt_s: float) -> None:
        hour = self.t_s / 3600.0
        for appliance in self.house_profile.appliances:
            running = self._appliances.get(appliance.name)
            if running is not None and self.elapsed_s >= running.end_s:
                del self._appliances[appliance.name]
                running = None
            if running is None and appliance.schedule:
                left = _scheduled_left_s(appliance.schedule, self.t_s)
                if left > 0:
                    self._appliances[appliance.name] = _Event(
                        self.elapsed_s, self.elapsed_s + left, appliance.power_w, appliance.phases
                    )
                    continue
            first, last = appliance.hours
            if (
                running is None
                and first <= hour < last
                and _starts(self.rng, appliance.starts_per_h, dt_s)
            ):
                end_s = self.elapsed_s + self.rng.uniform(*appliance.duration_s)
                self._appliances[appliance.name] = _Event(
                    self.elapsed_s, end_s, appliance.power_w, appliance.phases
                )

    def _battery_target_w(self) -> float:
        """Power that would bring the grid to 0 W, within the power and SoC limits."""
        config = self.battery_config
        surplus = self.pv_available_w - self.additional_feeder_w - self.house_w
        target = _clamp(surplus, -config.max_discharge_w, config.max_charge_w)
        if target > 0 and self.soc_pct >= config.soc_max_pct:
            return 0.0
        if target < 0 and self.soc_pct <= config.soc_min_pct:
            return 0.0
        return target

    def _step_battery(self, dt_s: float) -> None:
        config = self.battery_config
        if self.battery_override is not None:
            power = self.battery_override
        elif not self.battery_enabled:
            power = 0.0
        else:
            tau = config.time_constant_s
            alpha = 1.0 - math.exp(-dt_s / tau) if tau > 0 else 1.0
            power = self._battery_w + (self._battery_target_w() - self._battery_w) * alpha
            if dt_s > 0:
                room_wh = (config.soc_max_pct - self.soc_pct) / 100.0 * config.capacity_wh
                stored_wh = (self.soc_pct - config.soc_min_pct) / 100.0 * config.capacity_wh
                power = _clamp(
                    power,
                    max(-config.max_discharge_w, -max(stored_wh, 0.0) * 3600.0 / dt_s),
                    min(config.max_charge_w, max(room_wh, 0.0) * 3600.0 / dt_s),
                )
        self._battery_w = power
        # Rounding (or a pinned battery) must not push the SoC over a limit it was within.
        soc = self.soc_pct + power * dt_s / 3600.0 / config.capacity_wh * 100.0
        if power > 0:
            soc = min(soc, max(config.soc_max_pct, self.soc_pct))
        elif power < 0:
            soc = max(soc, min(config.soc_min_pct, self.soc_pct))
        self.soc_pct = soc

    def _integrate(self, dt_s: float) -> None:
        hours = dt_s / 3600.0
        energy = self.energy
        grid = self.grid_w
        battery = self.battery_w
        pv = self.pv_w
        energy.pv_wh += pv * hours
        energy.curtailed_wh += (self.pv_available_w - pv) * hours
        energy.additional_production_wh -= self.additional_feeder_w * hours
        energy.house_wh += self.house_w * hours
        energy.grid_import_wh += max(grid, 0.0) * hours
        energy.grid_export_wh += max(-grid, 0.0) * hours
        energy.battery_charge_wh += max(battery, 0.0) * hours
        energy.battery_discharge_wh += max(-battery, 0.0) * hours


def _scheduled_left_s(schedule: Sequence[tuple[float, float]], t_s: float) -> float:
    """Seconds left of the scheduled run that covers ``t_s`` (s after midnight), else 0."""
    for start_h, duration_s in schedule:
        since = (t_s - start_h * 3600.0) % DAY_S
        if since < duration_s:
            return duration_s - since
    return 0.0


def _phase_values(load: LoadValue) -> PhasePower:
    if isinstance(load, tuple):
        return load
    return _split(load, SYMMETRIC)


def _split(power: float, shares: PhasePower) -> PhasePower:
    return (power * shares[0], power * shares[1], power * shares[2])


def _starts(rng: random.Random, rate_per_h: float, dt_s: float) -> bool:
    """Whether a Poisson process with this rate fires within `dt_s`."""
    if rate_per_h <= 0:
        return False
    return rng.random() < 1.0 - math.exp(-rate_per_h * dt_s / 3600.0)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _local_midnight() -> float:
    now = datetime.now(UTC).astimezone()
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _sunny(seed: int, start_s: float) -> SiteModel:
    pv = PvProfile(peak_w=9000.0, sunrise_h=5.5, sunset_h=21.0)
    return SiteModel(pv, seed=seed, start_s=start_s, soc_pct=50.0)


def _clouds(seed: int, start_s: float) -> SiteModel:
    pv = PvProfile(peak_w=9000.0, sunrise_h=5.5, sunset_h=21.0, clouds_per_h=12.0)
    return SiteModel(pv, seed=seed, start_s=start_s, soc_pct=50.0)


def _winter(seed: int, start_s: float) -> SiteModel:
    pv = PvProfile(peak_w=3500.0, sunrise_h=8.0, sunset_h=16.5, clouds_per_h=4.0)
    house = HouseProfile(
        base_w=450.0,
        appliances=(*DEFAULT_APPLIANCES[:2], Appliance("heat_pump", 2800.0, (1800.0, 5400.0), 0.6)),
    )
    return SiteModel(pv, house, seed=seed, start_s=start_s, soc_pct=20.0)


def _constant(seed: int, start_s: float) -> SiteModel:
    pv = PvProfile(peak_w=4000.0, flat=True)
    house = HouseProfile(base_w=600.0, appliances=())
    return SiteModel(pv, house, seed=seed, start_s=start_s, soc_pct=50.0)


SCENARIOS: dict[str, Callable[[int, float], SiteModel]] = {
    "sunny": _sunny,
    "clouds": _clouds,
    "winter": _winter,
    "constant": _constant,
}
"""Named scenarios; `constant` has flat 4000 W PV and a 600 W house without randomness."""
