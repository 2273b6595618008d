"""Control strategies compared by the closed-loop benchmark.

Each strategy sees a `Reading` only when it polls (its own interval) and answers with the
current limit to write to the charger (or None: no write). The bench applies the limit like
the Amtron: the car is offered it when it is at least 6 A (else 0) and follows with its own
delay and ramp.

- `Ours`: `SurplusController` with the given `Settings` (defaults: mode PV), every 2 s.
- `Original`: the 2023 tool's control law (README: Migration from the original tool), every 20 s.
- `EvccLike`: evcc's PV mode with its defaults (bench/results.md), every 30 s.

A day may ask for another mode, a main fuse or a slow meter (`DaySetup`, from the scenario):
ours gets them as its settings; evcc its modes ``minpv`` / ``now`` and, with a fuse, a main
circuit on the grid meter with ``maxCurrent`` = fuse − margin (evcc's load management,
docs.evcc.io "Load Management": the loadpoint's current is capped at its measured current
plus what the circuit has left, and below the minimum the charger is disabled); the
original tool has no Fast mode and no fuse limit: for Fast it gets min = max = 16 A with
``pv_only = false`` (full current whatever the surplus), for Min+PV ``pv_only = false``.

The upper bound has no controller: see `closed_loop.upper_bound`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from custom_components.solar_wallbox.charging.controller import SurplusController
from custom_components.solar_wallbox.charging.model import (
    ChargeMode,
    Demand,
    Reason,
    Settings,
    SiteInput,
    WallboxInput,
)

VOLTAGE = 230.0
DAY0 = datetime(2026, 6, 21, tzinfo=UTC)
"""Midnight of the simulated day (the controller gets timezone-aware datetimes)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a strategy reads in one poll (E3DC/PAC2200 site values and the wallbox)."""

    t: float  # s after midnight
    pv_w: float
    house_w: float  # E3DC house power: includes the wallbox
    grid_w: float  # + import
    battery_w: float  # + charging
    soc_pct: float
    plugged: bool  # IEC state B, C or D
    charging: bool  # IEC state C or D
    car_w: float  # wallbox meter
    currents: tuple[float, float, float]  # A per phase
    limit: int  # current limit register (1000) as read back
    session_wh: float
    session_s: float
    tag: str | None
    site_t: float | None = None  # when the site values were reported (None: at `t`)
    grid_currents: tuple[float, float, float] | None = None  # A at the grid, − exporting
    curtailed: bool | None = None  # E3DC EMS status bit 4


@dataclass(frozen=True, slots=True)
class DaySetup:
    """What a day asks of every strategy (see the module docstring)."""

    mode: str | None = None  # "min_pv" or "fast" replaces the spec's mode (None: keep it)
    fuse_current_a: float = 0.0  # 0: no fuse limit
    fuse_margin_a: float = 2.0
    stale_timeout_s: float | None = None  # ours' Stale data timeout (None: its default)
    tick_s: float | None = None  # ours decides on each site report and on this tick


class Strategy(ABC):
    """A controller that polls every `poll_s` seconds (or later when it says so)."""

    name: str = ""
    poll_s: float = 1.0

    def __init__(self) -> None:
        """Poll at once."""
        self.next_poll = -math.inf

    @abstractmethod
    def poll(self, reading: Reading) -> int | None:
        """Return the limit to write now, or None; set `next_poll`."""


class Ours(Strategy):
    """Our `SurplusController`, fed like the integration feeds it (one decision per poll)."""

    name = "ours"
    poll_s = 2.0

    def __init__(
        self, settings: Settings | None = None, *, label: str = "ours", poll_s: float = 2.0
    ) -> None:
        """Wrap a fresh controller."""
        super().__init__()
        self.name = label
        self.poll_s = poll_s
        self.settings = settings if settings is not None else Settings(mode=ChargeMode.PV)
        self.controller = SurplusController(self.settings)
        self.decided: set[int] = set()
        """Every current the controller decided (for the range check)."""
        self.reasons: Counter[Reason] = Counter()
        """How often each decision reason came up (e.g. site_stale with a slow meter)."""

    def demand(self, reading: Reading) -> Demand | None:
        """What a departure plan asks of the controller now (none here; bench/plans.py)."""
        return None

    def poll(self, reading: Reading) -> int | None:
        """One decision; a write when the controller asks for one."""
        self.next_poll = reading.t + self.poll_s
        now = DAY0 + timedelta(seconds=reading.t)
        site_t = reading.t if reading.site_t is None else reading.site_t
        currents = reading.grid_currents
        site = SiteInput(
            measured_at=DAY0 + timedelta(seconds=site_t),
            grid_power=reading.grid_w,
            battery_power=reading.battery_w,
            battery_soc=reading.soc_pct,
            pv_power=reading.pv_w,
            phase_currents=(
                (abs(currents[0]), abs(currents[1]), abs(currents[2]))
                if currents is not None
                else None
            ),
            curtailed=reading.curtailed,
        )
        wallbox = WallboxInput(
            measured_at=now,
            connected=reading.plugged,
            power=reading.car_w,
            currents=reading.currents,
            current_limit=reading.limit,
            session_energy=reading.session_wh,
            session_duration=reading.session_s,
            rfid_tag=reading.tag,
            device_min_current=6,
            device_max_current=16,
        )
        controller = self.controller
        decision = controller.decide(now, site, wallbox, demand=self.demand(reading))
        self.decided.add(decision.current)
        self.reasons[decision.reason] += 1
        if not decision.write:
            return None
        controller.record_write(now, decision.current)
        return decision.current


@dataclass(slots=True)
class OriginalConfig:
    """The original tool's wallbox.toml values as its README's example sets them: default
    8 A, vehicle min/max 8/16 A, minimum charging power 2300 W, hysteresis 200 W, initial
    phase 180 s (README.md, "Migration from the original tool", maps the keys)."""

    phases: int = 3  # ThreePhase: the box's wiring, whatever the car draws
    phase_voltage: float = VOLTAGE
    default_amps: int = 8
    initial_phase_duration: float = 180.0
    hysteresis_watts: float = 200.0
    min_amp: int = 8
    max_amp: int = 16
    pv_only: bool = True
    minimum_charging_power: float = 2300.0  # 0: min_amp × step
    max_charge: float = 0.0  # Wh per session; 0: none


class Original(Strategy):
    """The 2023 tool's law: every 20 s, ``available = pv + charge − house``, +1 A steps.

    "Then wait N s" is read as: the next cycle comes N s later instead of 20 s.
    """

    name = "original"
    poll_s = 20.0

    def __init__(self, config: OriginalConfig | None = None) -> None:
        """Start like the tool: nothing written yet."""
        super().__init__()
        self.config = config if config is not None else OriginalConfig()
        self.setpoint: int | None = None

    def poll(self, reading: Reading) -> int | None:
        """One pass of the tool's loop."""
        c = self.config
        step = c.phase_voltage * c.phases
        wait = self.poll_s
        current = self.setpoint or 0
        if not reading.plugged:
            target = c.default_amps
        elif reading.session_s < c.initial_phase_duration:
            target, wait = c.default_amps, 60.0
        elif c.max_charge > 0 and reading.session_wh > c.max_charge:
            target = 0
        else:
            available = reading.pv_w + reading.car_w - reading.house_w
            minimum = c.minimum_charging_power or c.min_amp * step
            if available < minimum and c.pv_only:
                target, wait = 0, 120.0
            elif available < reading.car_w and current > c.min_amp:
                target = min(max(math.floor(available / step), c.min_amp), c.max_amp)
            elif available > current * step + step + c.hysteresis_watts and current < c.max_amp:
                target = max(current + 1, c.min_amp)
            elif current < c.min_amp:
                target = max(current + 1, c.default_amps)
            else:
                target = current
        self.next_poll = reading.t + wait
        if target == self.setpoint or target > 16:
            return None
        self.setpoint = target
        return target


@dataclass(slots=True)
class EvccConfig:
    """evcc's defaults for one loadpoint in PV mode."""

    min_current: float = 6.0
    max_current: float = 16.0
    phases: int = 3  # configured; replaced by the measured phases while connected
    enable_delay: float = 60.0
    disable_delay: float = 180.0
    enable_threshold: float = 0.0
    disable_threshold: float = 0.0
    min_active_current: float = 1.0  # A on a phase that counts as active
    priority_soc: float = 0.0  # off
    buffer_soc: float = 0.0  # off
    residual_power: float = 0.0
    mode: str = "pv"  # evcc's "pv", "minpv" or "now"
    circuit_max_current: float = 0.0  # A of a main circuit on the grid meter (0: none)


class EvccLike(Strategy):
    """evcc's ``pvMaxCurrent`` with its defaults, every 30 s, whole amps (floored).

    Site power = grid + battery (discharge positive) − residual; with the priority SoC
    off, the battery's charging power is surplus for the car. Target current = effective
    current + (−site power) / (230 V × active phases), where the effective current is
    min(measured max phase current + 2 A, offered current) while charging, else 0. Start
    (enable at the minimum) after the target stayed ≥ min for 1 min (the timer is elapsed on
    plug-in, so a first cycle with enough surplus starts at once); while charging below the
    minimum it holds the minimum and stops after 3 min of import. ``minpv`` never stops
    (at least the minimum), ``now`` asks for the maximum. With a circuit every current
    goes through evcc's ``ValidateCurrent``: a rise is capped at the charger's measured
    current plus ``maxCurrent`` − the grid meter's highest (signed) phase current, and a
    current below the minimum disables the charger.
    """

    name = "evcc"
    poll_s = 30.0

    def __init__(self, config: EvccConfig | None = None) -> None:
        """Disabled, no vehicle."""
        super().__init__()
        self.config = config if config is not None else EvccConfig()
        self.enabled = False
        self.offered = 0.0
        self.timer: float | None = None  # pv enable/disable timer start
        self.timer_elapsed = False  # evcc's "elapsed" timer state
        self.measured_phases: int | None = None
        self.connected = False
        self.written: int | None = None
        self.reading: Reading | None = None

    def poll(self, reading: Reading) -> int | None:
        """One evcc control cycle for the loadpoint."""
        c = self.config
        self.next_poll = reading.t + self.poll_s
        if reading.plugged and not self.connected:
            self.timer, self.timer_elapsed = None, True  # elapsePVTimer on connect
        if not reading.plugged and self.connected:
            self.measured_phases = None
            self.timer, self.timer_elapsed = None, False
        self.connected = reading.plugged
        self.reading = reading
        if not reading.plugged:
            return self._set(0.0)
        if c.mode == "now":
            return self._set(c.max_current)
        if reading.charging:
            active = sum(1 for i in reading.currents if i > c.min_active_current)
            if active:
                self.measured_phases = active
        phases = self.measured_phases or c.phases
        battery = -reading.battery_w  # evcc: + discharging
        if c.priority_soc > 0 and reading.soc_pct < c.priority_soc and battery < 0:
            battery = 0.0
        site = reading.grid_w + battery - c.residual_power
        effective = min(max(reading.currents) + 2.0, self.offered) if reading.charging else 0.0
        target = max(effective - site / (VOLTAGE * phases), 0.0)
        t = reading.t
        if c.mode == "minpv":
            return self._set(min(max(target, c.min_current), c.max_current))
        if self.enabled and target < c.min_current:
            if site >= c.disable_threshold:
                if self._elapsed(t, c.disable_delay):
                    self.enabled = False
                    self.timer, self.timer_elapsed = None, False
                    return self._set(0.0)
            else:
                self.timer, self.timer_elapsed = None, False
            return self._set(c.min_current)
        if not self.enabled:
            if (c.enable_threshold == 0 and target >= c.min_current) or (
                c.enable_threshold != 0 and site <= c.enable_threshold
            ):
                if self._elapsed(t, c.enable_delay):
                    self.enabled = True
                    self.timer, self.timer_elapsed = None, False
                    return self._set(c.min_current)
            else:
                self.timer, self.timer_elapsed = None, False
            return self._set(0.0)
        self.timer, self.timer_elapsed = None, False
        return self._set(min(target, c.max_current))

    def _elapsed(self, t: float, delay: float) -> bool:
        """Start the timer if needed; True once it ran for `delay` (or was elapsed)."""
        if self.timer_elapsed:
            return True
        if self.timer is None:
            self.timer = t
        return t - self.timer >= delay

    def _set(self, current: float) -> int | None:
        amps = math.floor(current)
        reading = self.reading
        limit = self.config.circuit_max_current
        if limit > 0 and reading is not None and reading.grid_currents is not None:
            actual = max(reading.currents)
            potential = limit - max(reading.grid_currents)
            if max(0.0, amps - actual) > potential:
                amps = math.floor(max(0.0, actual + potential))
            if amps < self.config.min_current:
                amps = 0
        if amps > 0:
            self.offered = float(amps)
        if amps == self.written:
            return None
        self.written = amps
        return amps


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """How to build a strategy in a worker process (picklable)."""

    kind: str  # "ours", "original", "evcc"
    label: str
    settings: Settings | None = None
    original: OriginalConfig | None = None
    evcc: EvccConfig | None = None
    default: bool = False  # the strategy at the defaults its users get

    def build(self, day: DaySetup | None = None) -> Strategy:
        """A fresh strategy, set up for ``day`` (see the module docstring)."""
        day = day if day is not None else DaySetup()
        if self.kind == "ours":
            settings = self.settings if self.settings is not None else Settings()
            settings = replace(
                settings, fuse_current=day.fuse_current_a, fuse_margin=day.fuse_margin_a
            )
            if day.mode is not None:
                settings = replace(settings, mode=ChargeMode(day.mode))
            if day.stale_timeout_s is not None:
                settings = replace(settings, stale_timeout=day.stale_timeout_s)
            poll_s = day.tick_s if day.tick_s is not None else Ours.poll_s
            return Ours(settings, label=self.label, poll_s=poll_s)
        if self.kind == "original":
            original = self.original if self.original is not None else OriginalConfig()
            if day.mode == "fast":
                original = replace(original, min_amp=16, max_amp=16, pv_only=False)
            elif day.mode == "min_pv":
                original = replace(original, pv_only=False)
            return Original(original)
        if self.kind == "evcc":
            evcc = self.evcc if self.evcc is not None else EvccConfig()
            if day.mode is not None:
                evcc = replace(evcc, mode=EVCC_MODES[day.mode])
            if day.fuse_current_a > 0:
                evcc = replace(evcc, circuit_max_current=day.fuse_current_a - day.fuse_margin_a)
            return EvccLike(evcc)
        raise ValueError(f"unknown strategy {self.kind!r}")


EVCC_MODES = {"pv": "pv", "min_pv": "minpv", "fast": "now"}
"""Our modes and evcc's names for them."""


OURS = StrategySpec("ours", "ours", Settings(mode=ChargeMode.PV), default=True)
BASELINES = (
    StrategySpec("evcc", "evcc", default=True),
    StrategySpec("original", "original", default=True),
)


def _ours(**changes: Any) -> StrategySpec:
    label = "ours " + ", ".join(f"{k}={v:g}" for k, v in changes.items())
    return StrategySpec("ours", label, replace(Settings(mode=ChargeMode.PV), **changes))


def _evcc(**changes: Any) -> StrategySpec:
    label = "evcc " + ", ".join(f"{k}={v:g}" for k, v in changes.items())
    return StrategySpec("evcc", label, evcc=replace(EvccConfig(), **changes))


def _original(**changes: Any) -> StrategySpec:
    label = "original " + ", ".join(f"{k}={v:g}" for k, v in changes.items())
    return StrategySpec("original", label, original=replace(OriginalConfig(), **changes))


CURVES: tuple[StrategySpec, ...] = (
    # Ours: what the README tells users to change — Stop energy (lower: greener, higher:
    # more kWh), the battery's help for a running session (Support SoC) and a Minimum
    # charging power below the car's (it starts and holds on less surplus).
    _ours(stop_energy=10),
    _ours(stop_energy=30),
    _ours(stop_energy=300),
    _ours(stop_energy=1000),
    _ours(support_soc=50, stop_energy=300),
    _ours(min_charging_power=3000),
    _ours(min_charging_power=2300, stop_energy=300),
    # evcc: enable/disable delay and thresholds.
    _evcc(disable_delay=60),
    _evcc(disable_delay=900),
    _evcc(enable_delay=180, disable_delay=60),
    _evcc(enable_threshold=-500, disable_threshold=500),
    # The original: its min amps and power threshold (its README's 8 A / 2300 W is the
    # default above; 6 A with min_amp × step = 4140 W is what the tool does without it).
    _original(min_amp=6, minimum_charging_power=0),
    _original(min_amp=6, minimum_charging_power=2300),
    _original(min_amp=8, minimum_charging_power=0),
)
"""The settings swept for the curves (besides each strategy's defaults)."""
