"""``python -m bench.closed_loop``: surplus-charging strategies in closed loop, no Modbus.

**What is simulated.** Each day runs from the scenario's start (midnight by default) to
06:00 the next morning (`HORIZON_S`), so the evening and night discharge of the home battery
is part of it. The site model (`simulator.model.SiteModel`, 1 s steps) is first run once
without a car: that run fixes the day's PV and household load per second (the *exogenous*
part, identical for every strategy) and is the **reference household**. Every strategy then
replays the same day on its own copy of the model from the car's arrival on, with the car
on the house circuit (``loads["wallbox"]``), so the grid and the home battery (greedy
self-consumption, lossless, with its 2 s lag) see the car exactly as with the Amtron
simulator. After the car leaves, the copy runs on without a car to the horizon.

**What a strategy sees** (`Realism`): it reads the site and the wallbox when it polls (ours
every 2 s, the original tool every 20 s, evcc every 30 s). Readings carry Gaussian meter
noise and are quantised to 1 W; the grid meter's value is 1 s old (its own measuring
delay). Our integration polls the grid meter, the E3DC and the wallbox independently (each
every 2 s, with offsets drawn per seed), so ours combines values of different ages; the
baselines read everything in one cycle. The charger offers the written limit when it is at
least 6 A (0 otherwise, nothing during the first 2 s after plug-in) and the car follows
with its response delay and ramp (`simulator.car.Car`). ``--ideal`` switches all of this
off (every strategy reads the exact values of the same second).

**The grid connection.** Ours also gets the phase currents at the grid connection (A, the
meter's reading: `simulator.pac2200.phase_currents` of the household's phases, the car on
the phases it draws on and the inverter feeding symmetrically, as
`SiteModel.grid_phase_w` has them) and the E3DC's curtailment bit (EMS status bit 4: a
day with a feed-in limit curtails its PV above it, `SiteModel.feed_in_limit_w`; PV
readings are then the curtailed PV). A day with a slow meter (``meter_interval_s``)
reports every site value only at that interval, at a phase drawn per seed: every strategy
reads the last report, ours gets its time as the measurement time and decides on each
report and on its 5 s tick (charging_manager.py). A day's mode, main fuse and Stale data
timeout go to every strategy (`bench.strategies.DaySetup`). Days with a fuse measure the
highest phase current per second (without meter noise) for `fuse_metrics`.

**Household accounting** (every kWh counted once; the home battery is lossless, so energy
is conserved: PV + import = household + car + export + Δstored):

- *car energy*: the energy the charger delivered (kWh);
- *extra import*: the household's grid import with the strategy minus the reference
  household's, plus the energy the home battery holds less at the horizon than in the
  reference (it would have to be bought back): ``Δimport + (stored_ref − stored)``;
- *solar into the car* = car energy − extra import, which by the balance above equals the
  *export lost* (reference export − export with the strategy): the car took PV that would
  otherwise have gone to the grid.

**Physical limits** per day and seed (PV = what the panels could give, before a feed-in
limit's curtailment): **B1** = ∫ min(max(PV − household, 0), car max power) dt over the
plug-in window, capped by the room in the car — the most solar the car could
take with no minimum power and no delays; and the **perfect-foresight optimum**
(`bench.optimum`, MILP with HiGHS): the least extra import any controller could reach at a
given car energy, knowing the whole day, with 0 or 6–16 A in whole amps on the car's phases,
minimum on/off times and a relaxed home battery. The **gap** of a strategy is its extra
import minus the optimum's at the same car energy.

**Curves**: each strategy also runs with the settings its users change (`CURVES`), giving
car energy against extra import per day; ``--plots`` draws them with the optimum and B1.

Other metrics over the plug-in window: starts (the car's power rising from 0), current
changes (of the limit register), longest import (seconds with the car drawing and grid
import > 50 W), and p95 time to reduce when the surplus drops (see `reduce_times`).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import itertools
import json
import math
import os
import statistics
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy

from simulator.car import Car, IecState
from simulator.model import PhasePower, SiteModel
from simulator.pac2200 import phase_currents

from .scenarios import BUILTIN, Scenario, ScenarioError, load_scenarios, profile_scenario
from .strategies import (
    BASELINES,
    CURVES,
    DAY0,
    OURS,
    VOLTAGE,
    DaySetup,
    Ours,
    Reading,
    Strategy,
    StrategySpec,
)

LOAD_NAME = "wallbox"
DAY = 86400
HORIZON_S = DAY + 6 * 3600
"""The simulated day ends at 06:00 the next morning."""
POLL_LEAD_S = 600
"""Strategies start polling this long before the car arrives (nothing changes before)."""
IMPORT_W = 50.0
DROP_W = 300.0
IDLE_A = 0.006  # what the Amtron shows on a phase that carries nothing
OPERATOR_LIMIT_A = 16
MIN_OFFER_A = 6
PREPARING_S = 2.0
MIN_ON_OFF_S = 120.0
"""Minimum on and off time of the optimum's car (ours' defaults)."""
DEFAULT_SEEDS = 5
DEFAULT_RANDOM = "1-6"
"""Random days of the default run, besides the named ones (`bench.random_days`)."""
HISTORY_S = 8
TICK_S = 5
"""Ours' timer (charging_manager.py, TICK): with a slow meter it decides on each report and
on this tick."""
OPTIMUM_CACHE = Path(__file__).with_name("cache") / "optimum.json"
B1 = "B1"
REGENERATE = "python -m bench.closed_loop --output bench/results.md --plots bench/plots"
OPTIMUM = "optimum"


# -- what a strategy reads -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Realism:
    """Measurement imperfections (see the module docstring)."""

    grid_noise_w: float = 15.0
    site_noise_w: float = 10.0  # PV and battery power (E3DC)
    car_noise_w: float = 5.0
    quantum_w: float = 1.0
    meter_delay_s: int = 1
    independent_polls: bool = True  # ours' devices polled separately


IDEAL = Realism(0.0, 0.0, 0.0, 0.0, 0, False)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """End-of-second values of the site and the wallbox."""

    t: int
    pv: float
    household: float  # without the car
    grid: float
    battery: float
    soc: float
    car_w: float
    currents: tuple[float, float, float]
    plugged: bool
    charging: bool
    limit: int
    session_wh: float
    session_s: float
    tag: str | None
    curtailed: bool = False  # the inverter curtails (E3DC EMS status bit 4); pv is after it


def history_s(scenario: Scenario) -> int:
    """Seconds of snapshots a rig keeps: enough for the oldest value a reading may use."""
    return max(HISTORY_S, scenario.meter_interval_s + 4)


def day_setup(scenario: Scenario) -> DaySetup:
    """What ``scenario`` asks of the strategies."""
    return DaySetup(
        mode=scenario.mode if scenario.mode != "pv" else None,
        fuse_current_a=scenario.fuse_current_a,
        fuse_margin_a=scenario.fuse_margin_a,
        stale_timeout_s=scenario.stale_timeout_s,
        tick_s=float(TICK_S) if scenario.meter_interval_s > 1 else None,
    )


def grid_phase_powers(
    household: PhasePower, car_w: float, car_phases: int, battery: float, pv: float
) -> PhasePower:
    """Grid power per phase (W, + import): the household's phases, the car on its phases
    (L1 only for a 1-phase car) and the inverter feeding symmetrically, as
    `SiteModel.grid_phase_w` computes it with the car in ``loads``."""
    inverter = (battery - pv) / 3.0
    l1, l2, l3 = household
    share = car_w / car_phases
    if car_phases == 1:
        return (l1 + share + inverter, l2 + inverter, l3 + inverter)
    return (l1 + share + inverter, l2 + share + inverter, l3 + share + inverter)


@dataclass(slots=True)
class Noise:
    """Noise per second and source, the same for every strategy (seeded per day)."""

    grid: array[float]
    site: array[float]
    car: array[float]
    offsets: tuple[int, int]  # E3DC and wallbox poll offsets (s) against the grid meter
    report_phase: float = 0.0  # where in its interval a slow meter reports (0 ≤ x < 1)

    @classmethod
    def draw(cls, seed: int, seconds: int, realism: Realism) -> Noise:
        """Noise for ``seconds`` seconds."""
        rng = numpy.random.default_rng(seed * 7919 + 17)

        def series(sigma: float) -> array[float]:
            if sigma <= 0:
                return array("d", bytes(8 * seconds))
            values: list[float] = [float(v) for v in rng.normal(0.0, sigma, seconds)]
            return array("d", values)

        grid, site, car = (
            series(realism.grid_noise_w),
            series(realism.site_noise_w),
            series(realism.car_noise_w),
        )
        offsets = (
            (int(rng.integers(2)), int(rng.integers(2))) if realism.independent_polls else (0, 0)
        )
        # Drawn last: the draws above stay what they were before slow meters existed.
        return cls(grid, site, car, offsets, float(rng.random()))


def _quantise(value: float, quantum: float) -> float:
    return round(value / quantum) * quantum if quantum > 0 else value


# -- one strategy on one model ---------------------------------------------------------


class Rig:
    """One strategy with its charger and car on a site model."""

    def __init__(
        self,
        spec: StrategySpec,
        scenario: Scenario,
        realism: Realism,
        noise: Noise,
        house_phases: Sequence[PhasePower] | None = None,
    ) -> None:
        """Nothing plugged in; `attach` a model before running. ``house_phases`` is the
        household per phase and second (without it: the total split by the house
        profile's base load shares)."""
        self.spec = spec
        self.scenario = scenario
        self.realism = realism
        self.noise = noise
        self.house_phases = house_phases
        self.strategy: Strategy = spec.build(day_setup(scenario))
        self.interval = scenario.meter_interval_s
        self.report_offset = int(noise.report_phase * self.interval)
        """A slow meter reports at the seconds ``t`` with ``t % interval == report_offset``
        (the strategies' polls are not in step with it)."""
        self.event_driven = spec.kind == "ours" and self.interval > 1
        self.fuse = scenario.fuse_current_a
        self.car = Car(scenario.car.config())
        self.model: SiteModel | None = None
        self.now = 0
        self.limit = 0  # register 1000
        self.plugged_at: float | None = None
        self.session_wh = 0.0
        self.writes = 0
        self.rejected = 0
        self.history: deque[Snapshot] = deque(maxlen=history_s(scenario))
        # Per second of the plug-in window (values after the poll of that second).
        self.pv = array("d")
        self.house = array("d")
        self.car_w = array("d")
        self.grid = array("d")
        self.limits = array("i")
        self.energy: tuple[float, float, float] | None = None  # import, export, stored Wh
        self.curtailed_wh = 0.0  # PV curtailed over the whole day (feed-in limit)
        # The grid connection per second of the window (days with a fuse only): the
        # highest phase current (A) as the PAC2200 would show it.
        self.max_phase = array("d")

    def attach(self, model: SiteModel, history: Sequence[Snapshot]) -> None:
        """Drive the car on ``model``, continuing the readings of ``history``."""
        self.model = model
        self.history = deque(history, maxlen=history_s(self.scenario))

    def _car_step(self) -> float:
        """One second of the charger and the car at `now`; the car's power (W)."""
        car, now = self.car, self.now
        scenario = self.scenario
        if not car.plugged:
            if scenario.arrive_s <= now < scenario.leave_s:
                car.plug_in()
                self.plugged_at = now
                self.session_wh = 0.0
        elif now >= scenario.leave_s:
            car.unplug()
        offer = 0
        if car.plugged and self.plugged_at is not None and now - self.plugged_at >= PREPARING_S:
            offer = min(self.limit, OPERATOR_LIMIT_A)
            if offer < MIN_OFFER_A:
                offer = 0
        self.session_wh += car.step(1.0, offer, VOLTAGE)
        return sum(car.phase_power(VOLTAGE))

    def due(self, t: int) -> bool:
        """Whether the strategy decides in second ``t``: at its own poll interval; ours
        with a slow meter on each report and on its tick (event-driven, like the
        integration's listener on the grid meter)."""
        if self.event_driven:
            return (t - self.report_offset) % self.interval == 0 or t % TICK_S == 0
        return t >= self.strategy.next_poll

    def household_phases(self, snap: Snapshot) -> PhasePower:
        """The household per phase in the snapshot's second."""
        if self.house_phases is not None:
            return self.house_phases[snap.t]
        a, b, c = self.scenario.house.base_phases
        h = snap.household
        return (h * a, h * b, h * c)

    def _at(self, t: int) -> Snapshot:
        """The snapshot of second ``t`` (clamped to the history kept)."""
        history = self.history
        back = min(max(history[-1].t - t, 0), len(history) - 1)
        return history[-1 - back]

    def reading(self, t: int) -> Reading:
        """What the strategy reads when it polls at ``t`` (see `Realism`)."""
        realism, noise = self.realism, self.noise
        q = realism.quantum_w
        independent = realism.independent_polls and self.spec.kind == "ours"
        site_offset, box_offset = noise.offsets if independent else (0, 0)
        if self.interval > 1:
            # A slow meter: every site value comes from its last report.
            reported = t - (t - self.report_offset) % self.interval
            meter = self._at(reported - realism.meter_delay_s)
            site = self._at(reported)
        else:
            reported = t
            meter = self._at(t - realism.meter_delay_s)
            site = self._at(t - (t - site_offset) % 2) if independent else self._at(t)
        box = self._at(t - (t - box_offset) % 2) if independent else self._at(t)
        powers = grid_phase_powers(
            self.household_phases(meter),
            meter.car_w,
            self.scenario.car.phases,
            meter.battery,
            meter.pv,
        )
        phase_noise = noise.grid[meter.t] / 3.0
        noisy = [p + phase_noise for p in powers]
        grid_currents = tuple(
            round(math.copysign(i, p), 2) for i, p in zip(phase_currents(noisy), noisy, strict=True)
        )
        car_w = _quantise(box.car_w + (noise.car[box.t] if box.car_w > 0 else 0.0), q)
        i1, i2, i3 = box.currents
        return Reading(
            t=float(t),
            pv_w=max(0.0, _quantise(site.pv + (noise.site[site.t] if site.pv > 0 else 0.0), q)),
            house_w=_quantise(site.household + site.car_w, q),
            grid_w=_quantise(meter.grid + noise.grid[meter.t], q),
            battery_w=_quantise(site.battery + noise.site[site.t - 1], q),
            soc_pct=round(site.soc, 0),
            plugged=box.plugged,
            charging=box.charging,
            car_w=max(0.0, car_w),
            currents=(
                round(i1, 2) or IDLE_A,
                round(i2, 2) or IDLE_A,
                round(i3, 2) or IDLE_A,
            ),
            limit=box.limit,
            session_wh=box.session_wh,
            session_s=box.session_s,
            tag=box.tag,
            site_t=float(reported),
            grid_currents=(grid_currents[0], grid_currents[1], grid_currents[2]),
            curtailed=site.curtailed,
        )

    def poll(self, t: int) -> None:
        """The strategy reads now and may write a limit."""
        command = self.strategy.poll(self.reading(t))
        if command is None:
            return
        if command == 0 or 6 <= command <= 32:
            self.writes += 1
            self.limit = command
        else:
            self.rejected += 1  # the Amtron answers exception 03

    def run(self, first: int, leave: int, pv: Sequence[float], house: Sequence[float]) -> None:
        """Seconds ``first`` .. ``leave`` with the car, then without it to the horizon."""
        model, car = self.model, self.car
        assert model is not None
        pv_a, house_a, car_a = self.pv.append, self.house.append, self.car_w.append
        grid_a, limit_a, keep = self.grid.append, self.limits.append, self.history.append
        phase_a = self.max_phase.append
        fuse, car_phases = self.fuse, self.scenario.car.phases
        house_phases = self.house_phases
        load = [0.0]

        def after(i: int, battery: float, soc: float, grid: float) -> float:
            t = first + i
            car_w = load[0]
            plugged = car.plugged
            produced = model.last_pv_w
            if fuse > 0 and house_phases is not None:
                powers = grid_phase_powers(house_phases[t], car_w, car_phases, battery, produced)
                phase_a(max(phase_currents(powers)))
            snap = Snapshot(
                t=t,
                pv=produced,
                household=house[t],
                grid=grid,
                battery=battery,
                soc=soc,
                car_w=car_w,
                currents=car.phase_currents if plugged else (0.0, 0.0, 0.0),
                plugged=plugged,
                charging=plugged and car.state in (IecState.C, IecState.D),
                limit=self.limit,
                session_wh=self.session_wh,
                session_s=t - self.plugged_at if plugged and self.plugged_at is not None else 0.0,
                tag=car.config.tag if plugged else None,
                curtailed=produced < pv[t],
            )
            keep(snap)
            if self.due(t):
                self.poll(t)
            pv_a(pv[t])
            house_a(house[t])
            car_a(car_w)
            grid_a(grid)
            limit_a(self.limit)
            if t >= leave:
                load[0] = 0.0
                return 0.0
            self.now = t + 1
            load[0] = self._car_step()
            return load[0]

        self.now = first
        load[0] = self._car_step()
        model.replay(pv[first : leave + 1], house[first : leave + 1], after, load[0])
        model.replay(pv[leave + 1 :], house[leave + 1 :])
        self.energy = household_energy(model)
        self.curtailed_wh = model.energy.curtailed_wh


def household_energy(model: SiteModel) -> tuple[float, float, float]:
    """Grid import and export (Wh, since the model was created) and the energy stored
    in the home battery above its minimum SoC (Wh)."""
    config = model.battery_config
    stored = max(0.0, model.soc_pct - config.soc_min_pct) / 100.0 * config.capacity_wh
    return model.energy.grid_import_wh, model.energy.grid_export_wh, stored


# -- metrics ------------------------------------------------------------------------------


@dataclass(slots=True)
class Metrics:
    """One strategy (with one setting) on one day and seed."""

    strategy: str  # label
    kind: str  # "ours", "original", "evcc"
    default: bool
    car_kwh: float
    extra_import_kwh: float
    solar_kwh: float
    export_lost_kwh: float
    stored_less_kwh: float
    starts: int
    changes: int
    longest_import_s: int
    p95_reduce_s: float | None
    writes: int
    gap_kwh: float | None = None  # extra import − the optimum's at the same car energy
    # Days with a main fuse (None on the others): the highest phase current at the grid
    # connection over the window (A, as the PAC2200 shows it) and the seconds any phase
    # was above fuse − margin and above the fuse itself.
    max_phase_a: float | None = None
    over_margin_s: int | None = None
    over_fuse_s: int | None = None
    curtailed_used_kwh: float = 0.0  # PV the reference day curtailed that this run used


@dataclass(frozen=True, slots=True)
class FuseMetrics:
    """The grid connection over a window (see `fuse_metrics`)."""

    max_phase_a: float
    over_margin_s: int
    over_fuse_s: int


def fuse_metrics(max_phase: Sequence[float], fuse_a: float, margin_a: float) -> FuseMetrics:
    """From the highest phase current of each second: its maximum, and the seconds it was
    above ``fuse_a − margin_a`` and above ``fuse_a`` (strictly)."""
    limit = fuse_a - margin_a
    return FuseMetrics(
        max_phase_a=max(max_phase, default=0.0),
        over_margin_s=sum(1 for i in max_phase if i > limit),
        over_fuse_s=sum(1 for i in max_phase if i > fuse_a),
    )


def count_starts(car: Sequence[float]) -> int:
    """How often the car's power rose from 0."""
    starts, before = 0, 0.0
    for c in car:
        if c > 0 and before <= 0:
            starts += 1
        before = c
    return starts


def longest_import(car: Sequence[float], grid: Sequence[float]) -> int:
    """Longest run of seconds with the car drawing and grid import above `IMPORT_W`."""
    longest = run = 0
    for c, g in zip(car, grid, strict=True):
        run = run + 1 if c > 0 and g > IMPORT_W else 0
        longest = max(longest, run)
    return longest


def reduce_times(
    pv: Sequence[float], house: Sequence[float], car: Sequence[float], limits: Sequence[int]
) -> list[tuple[int, int]]:
    """Per surplus drop: seconds to a lower limit (or to the drop's end), and the limit
    in force when it started. A drop starts when the car's draw exceeds ``pv − house`` by
    more than `DROP_W` (and did not the second before)."""
    times: list[tuple[int, int]] = []
    start: int | None = None
    start_limit = 0
    before = False
    previous_limit = limits[0] if limits else 0
    for i, (p, h, c, limit) in enumerate(zip(pv, house, car, limits, strict=True)):
        over = c > 0 and c - (p - h) > DROP_W
        if start is not None and (limit < start_limit or not over):
            times.append((i - start, start_limit))
            start = None
        if start is None and over and not before:
            start, start_limit = i, previous_limit
            if limit < start_limit:  # reduced in the very poll that saw the drop
                times.append((0, start_limit))
                start = None
        before = over
        previous_limit = limit
    if start is not None:
        times.append((len(car) - start, start_limit))
    return times


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def evaluate(
    rig: Rig, reference: tuple[float, float, float], reference_curtailed_wh: float = 0.0
) -> Metrics:
    """The household accounting and the window metrics of one rig."""
    assert rig.energy is not None
    imported, exported, stored = rig.energy
    ref_import, ref_export, ref_stored = reference
    car_kwh = sum(rig.car_w) / 3.6e6
    extra = ((imported - ref_import) + (ref_stored - stored)) / 1000.0
    times = reduce_times(rig.pv, rig.house, rig.car_w, rig.limits)
    scenario = rig.scenario
    fuse = (
        fuse_metrics(rig.max_phase, scenario.fuse_current_a, scenario.fuse_margin_a)
        if scenario.fuse_current_a > 0
        else None
    )
    return Metrics(
        strategy=rig.spec.label,
        kind=rig.spec.kind,
        default=rig.spec.default,
        car_kwh=car_kwh,
        extra_import_kwh=extra,
        solar_kwh=car_kwh - extra,
        export_lost_kwh=(ref_export - exported) / 1000.0,
        stored_less_kwh=(ref_stored - stored) / 1000.0,
        starts=count_starts(rig.car_w),
        changes=sum(1 for a, b in itertools.pairwise(rig.limits) if a != b),
        longest_import_s=longest_import(rig.car_w, rig.grid),
        p95_reduce_s=percentile([t for t, a in times if a > MIN_OFFER_A], 0.95),
        writes=rig.writes,
        max_phase_a=fuse.max_phase_a if fuse is not None else None,
        over_margin_s=fuse.over_margin_s if fuse is not None else None,
        over_fuse_s=fuse.over_fuse_s if fuse is not None else None,
        curtailed_used_kwh=(reference_curtailed_wh - rig.curtailed_wh) / 1000.0,
    )


def b1_kwh(scenario: Scenario, pv: Sequence[float], house: Sequence[float]) -> float:
    """∫ min(max(PV − household, 0), car max power) over the window, capped by the room."""
    arrive, leave = math.ceil(scenario.arrive_s), math.ceil(scenario.leave_s)
    high = min(OPERATOR_LIMIT_A, scenario.car.max_current_a) * VOLTAGE * scenario.car.phases
    total = sum(
        min(max(p - h, 0.0), high)
        for p, h in zip(pv[arrive:leave], house[arrive:leave], strict=True)
    )
    return min(total / 3.6e6, car_room_kwh(scenario))


def car_room_kwh(scenario: Scenario) -> float:
    """The most energy the car can still take, at the charger's meter."""
    car = scenario.car
    room = max(0.0, car.target_soc_pct - car.soc_pct) / 100.0 * car.capacity_kwh
    return room / car.efficiency


# -- one day and seed -----------------------------------------------------------------------


@dataclass(slots=True)
class OptimumSummary:
    """The optimum's curve (car kWh, least extra import) and where it was evaluated."""

    curve: list[tuple[float, float]]
    solve_s: float
    note: str = ""


@dataclass(slots=True)
class DayResult:
    """Everything one day and seed produced."""

    name: str
    title: str
    seed: int
    seed_index: int
    metrics: list[Metrics]
    b1_kwh: float
    max_car_kwh: float
    optimum: OptimumSummary | None
    ours_currents: list[int]
    seconds: float
    reference_import_kwh: float = 0.0
    traces: dict[str, list[float]] = field(default_factory=dict)
    fuse_current_a: float = 0.0
    fuse_margin_a: float = 0.0
    feed_in_limit_w: float | None = None
    mode: str = "pv"

    def by_label(self) -> dict[str, Metrics]:
        """Metrics by strategy label."""
        return {m.strategy: m for m in self.metrics}

    def default(self, kind: str) -> Metrics:
        """The metrics of ``kind`` at its defaults."""
        return next(m for m in self.metrics if m.kind == kind and m.default)


def _site_model(scenario: Scenario) -> SiteModel:
    model = SiteModel(
        scenario.pv,
        scenario.house,
        scenario.battery,
        seed=scenario.seed,
        start_s=scenario.start_s,
        soc_pct=scenario.soc_pct,
        day_start=DAY0.timestamp(),
        feed_in_limit_w=scenario.feed_in_limit_w,
    )
    if scenario.profile is not None:
        model.pv_override = scenario.profile.pv_w[int(scenario.start_s)]
        model.house_override = scenario.profile.house_w[int(scenario.start_s)]
    return model


@dataclass(slots=True)
class Exogenous:
    """The reference day: PV (available, before any curtailment) and household per second
    (index = seconds after midnight, to `HORIZON_S`), the household per phase, the
    reference model at the horizon, a copy taken after second ``arrive − 1``, and the
    site's values in the seconds before the car (for the polls)."""

    pv: list[float]
    house: list[float]
    house_phases: list[PhasePower]
    reference: SiteModel
    at_arrival: SiteModel
    # t, pv produced, household, battery, soc, curtailed
    before: list[tuple[int, float, float, float, float, bool]]


def exogenous_day(scenario: Scenario) -> Exogenous:
    """Run the day once without a car (see `Exogenous`): the weather and the appliances
    first, then the home battery over the recorded values (`SiteModel.replay`, exactly
    what `SiteModel.step` computes)."""
    model = _site_model(scenario)
    battery_model = copy.deepcopy(model)
    begin = int(scenario.start_s)
    arrive = math.ceil(scenario.arrive_s)
    first_kept = arrive - POLL_LEAD_S - history_s(scenario)
    pv = [0.0] * (HORIZON_S + 1)
    house = [0.0] * (HORIZON_S + 1)
    phases: list[PhasePower] = [(0.0, 0.0, 0.0)] * (HORIZON_S + 1)
    profile = scenario.profile
    pv[begin], house[begin] = model.pv_available_w, model.household_w
    phases[begin] = model.household_phase_w()
    running: tuple[str, ...] | None = None
    for t in range(begin + 1, HORIZON_S + 1):
        if profile is not None:
            model.pv_override = profile.pv_w[t % DAY]
            model.house_override = profile.house_w[t % DAY]
        model.step_weather(1.0)
        pv[t], house[t] = model.pv_available_w, model.household_w
        # The phases change only when an appliance starts or stops (or a profile's total).
        now_running = model.running_appliances
        if profile is not None or now_running != running:
            phases[t] = model.household_phase_w()
            running = now_running
        else:
            phases[t] = phases[t - 1]
    before: list[tuple[int, float, float, float, float, bool]] = []
    start = begin + 1
    split = max(start, min(arrive, first_kept))
    battery_model.replay(pv[start:split], house[start:split])

    def keep(i: int, battery: float, soc: float, _grid: float) -> float:
        t = split + i
        produced = battery_model.last_pv_w
        before.append((t, produced, house[t], battery, soc, produced < pv[t]))
        return 0.0

    battery_model.replay(pv[split:arrive], house[split:arrive], keep)
    at_arrival = copy.deepcopy(battery_model)
    battery_model.replay(pv[max(arrive, start) :], house[max(arrive, start) :])
    return Exogenous(pv, house, phases, battery_model, at_arrival, before)


def run_day(
    scenario: Scenario,
    specs: Sequence[StrategySpec],
    *,
    seed_index: int = 0,
    realism: Realism | None = None,
    optimum: bool = True,
    traces: bool = False,
    cache: Path | None = OPTIMUM_CACHE,
    curve_points: int = 0,
) -> DayResult:
    """Run every strategy on ``scenario`` (its seed already set); the optimum at every
    strategy's car energy and at ``curve_points`` more energies."""
    began = time.perf_counter()
    realism = realism if realism is not None else Realism()
    arrive, leave = math.ceil(scenario.arrive_s), math.ceil(scenario.leave_s)
    day = exogenous_day(scenario)
    pv, house = day.pv, day.house
    reference = household_energy(day.reference)
    noise = Noise.draw(scenario.seed, HORIZON_S + 1, realism)
    rigs = [Rig(spec, scenario, realism, noise, day.house_phases) for spec in specs]

    # Before the car: every strategy polls the reference day (nothing it writes matters
    # yet, but it starts with the state it would have).
    first_poll = arrive - POLL_LEAD_S
    for t, p, h, b, soc, curtailed in day.before:
        for rig in rigs:
            rig.history.append(
                Snapshot(
                    t, p, h, h + b - p, b, soc, 0.0, (0.0, 0.0, 0.0), False, False,
                    rig.limit, 0.0, 0.0, None, curtailed,
                )
            )  # fmt: skip
            if t >= first_poll and rig.due(t):
                rig.poll(t)

    begin = int(scenario.start_s)
    for rig in rigs:
        rig.attach(copy.deepcopy(day.at_arrival), list(rig.history))
        rig.run(max(arrive, begin + 1), leave, pv, house)

    reference_curtailed = day.reference.energy.curtailed_wh
    metrics = [evaluate(rig, reference, reference_curtailed) for rig in rigs]
    summary = None
    max_car = min(
        car_room_kwh(scenario),
        (leave - arrive - PREPARING_S)
        * min(OPERATOR_LIMIT_A, scenario.car.max_current_a)
        * VOLTAGE
        * scenario.car.phases
        / 3.6e6,
    )
    if optimum and scenario.has_optimum:
        summary = optimum_summary(
            scenario,
            pv,
            house,
            reference,
            [m.car_kwh for m in metrics],
            cache=cache,
            points=curve_points,
        )
        if summary is not None:
            for m in metrics:
                m.gap_kwh = m.extra_import_kwh - interpolate_floor(summary.curve, m.car_kwh)
    ours = rigs[0].strategy
    result = DayResult(
        name=scenario.name,
        title=scenario.title,
        seed=scenario.seed,
        seed_index=seed_index,
        metrics=metrics,
        b1_kwh=b1_kwh(scenario, pv, house),
        max_car_kwh=max_car,
        optimum=summary,
        ours_currents=sorted(ours.decided) if isinstance(ours, Ours) else [],
        seconds=0.0,
        reference_import_kwh=reference[0] / 1000.0,
        fuse_current_a=scenario.fuse_current_a,
        fuse_margin_a=scenario.fuse_margin_a,
        feed_in_limit_w=scenario.feed_in_limit_w,
        mode=scenario.mode,
    )
    if traces:
        result.traces = {
            "pv": _bins(pv[arrive : leave + 1]),
            "house": _bins(house[arrive : leave + 1]),
            **{f"car {rig.spec.label}": _bins(rig.car_w) for rig in rigs if rig.spec.default},
            # The highest phase current per 10 s (days with a fuse): peaks, not means.
            **{
                f"phase {rig.spec.label}": _bins(rig.max_phase, PHASE_BIN_S, max)
                for rig in rigs
                if rig.spec.default and rig.max_phase
            },
            "start_h": [arrive / 3600.0],
        }
    result.seconds = time.perf_counter() - began
    return result


PHASE_BIN_S = 10


def _bins(
    values: Sequence[float],
    size: int = 60,
    reduce: Callable[[Sequence[float]], float] | None = None,
) -> list[float]:
    """Means (or ``reduce``) of consecutive bins of ``size`` values."""
    chunks = [values[i : i + size] for i in range(0, len(values), size)]
    if reduce is not None:
        return [reduce(chunk) for chunk in chunks]
    return [sum(chunk) / len(chunk) for chunk in chunks]


# -- the optimum ----------------------------------------------------------------------------


def interpolate_floor(curve: Sequence[tuple[float, float]], car_kwh: float) -> float:
    """A valid lower bound of the optimum at ``car_kwh`` from bounds at sampled energies.

    The least extra import does not fall with more car energy, so the bound of the largest
    sampled energy at or below ``car_kwh`` holds; energies are sampled at each strategy's
    own car energy, so this is exact there."""
    below = [extra for energy, extra in curve if energy <= car_kwh + 1e-9]
    return max(below) if below else 0.0


def optimum_summary(
    scenario: Scenario,
    pv: Sequence[float],
    house: Sequence[float],
    reference: tuple[float, float, float],
    energies: Sequence[float],
    *,
    cache: Path | None,
    points: int = 0,
) -> OptimumSummary | None:
    """The optimum at ``energies`` (and ``points`` more evenly spaced); None without scipy."""
    try:
        optimum = importlib.import_module("bench.optimum")
    except ImportError:
        return None
    began = time.perf_counter()
    begin = int(scenario.start_s)
    # Sample ``begin`` is the state before the first step: the reference never integrates it.
    inputs = optimum.DayInputs(
        t0_s=begin + 1,
        pv_w=pv[begin + 1 :],
        house_w=house[begin + 1 :],
        battery=scenario.battery,
        soc_pct=scenario.soc_pct,
        arrive_s=scenario.arrive_s,
        leave_s=scenario.leave_s,
        phases=scenario.car.phases,
        max_current_a=scenario.car.max_current_a,
        car_room_kwh=car_room_kwh(scenario),
        min_on_s=MIN_ON_OFF_S,
        min_off_s=MIN_ON_OFF_S,
        min_current_a=max(float(MIN_OFFER_A), scenario.car.min_current_a),
    )
    top = float(optimum.max_car_kwh(inputs))
    # Rounded down: the bound at a slightly smaller energy still holds at the real one.
    wanted = sorted({math.floor(min(e, top) * 1000) / 1000 for e in energies if e > 0})
    if points:
        wanted = sorted({*wanted, *(round(top * (i + 1) / points, 3) for i in range(points))})
    store = optimum.OptimumCache(cache) if cache is not None else None
    baseline = (reference[0] - reference[2]) / 1000.0
    curve: list[tuple[float, float]] = [(0.0, 0.0)]
    for energy in wanted:
        point = (
            store.get_or_solve(inputs, energy)
            if store is not None
            else optimum.optimum(inputs, energy)
        )
        curve.append((energy, point.objective_kwh - baseline))
    return OptimumSummary(curve=curve, solve_s=time.perf_counter() - began)


# -- many days ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """One day and seed with its strategies (picklable)."""

    scenario: Scenario
    specs: tuple[StrategySpec, ...]
    seed_index: int
    realism: Realism
    optimum: bool
    traces: bool
    curve_points: int
    cache: Path | None


def _job(job: Job) -> DayResult:
    return run_day(
        job.scenario,
        job.specs,
        seed_index=job.seed_index,
        realism=job.realism,
        optimum=job.optimum,
        traces=job.traces,
        cache=job.cache,
        curve_points=job.curve_points,
    )


def seed_for(scenario: Scenario, index: int) -> int:
    """Seed ``index`` of a day: its own seed first, then derived ones."""
    return scenario.seed if index == 0 else scenario.seed * 1000 + index


def make_jobs(
    scenarios: Sequence[Scenario],
    *,
    seeds: int,
    curves: bool,
    realism: Realism,
    optimum: bool,
    traces: bool,
    cache: Path | None,
) -> list[Job]:
    """Defaults on every seed; the curves' settings on the first seed of each day."""
    defaults = (OURS, *BASELINES)
    jobs = []
    for scenario in scenarios:
        # The settings swept are about surplus charging: a day in another mode has none.
        sweep = curves and scenario.mode == "pv"
        for index in range(seeds):
            specs = defaults + tuple(CURVES) if sweep and index == 0 else defaults
            jobs.append(
                Job(
                    replace(scenario, seed=seed_for(scenario, index)),
                    specs,
                    index,
                    realism,
                    optimum,
                    traces and index == 0,
                    8 if sweep and index == 0 else 0,
                    cache,
                )
            )
    return jobs


def run_jobs(jobs: Sequence[Job], workers: int) -> list[DayResult]:
    """Run the jobs, in ``workers`` processes when more than one (longest first)."""
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].specs))
    if workers <= 1 or len(jobs) <= 1:
        done = {i: _job(jobs[i]) for i in order}
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = {i: pool.submit(_job, jobs[i]) for i in order}
            done = {i: f.result() for i, f in futures.items()}
    return [done[i] for i in range(len(jobs))]


# -- targets ------------------------------------------------------------------------------------


TOLERANCE_KWH = 0.01
"""Energies closer than this (or than `TOLERANCE_SHARE` of the car energy) count as equal:
10 Wh over a day is below what a household meter shows and within the seed-to-seed spread."""
TOLERANCE_SHARE = 0.002


def tolerance(*car_kwh: float) -> float:
    """The tolerance for comparing strategies with these car energies."""
    return max(TOLERANCE_KWH, TOLERANCE_SHARE * max(car_kwh, default=0.0))


def dominates(a: Metrics, b: Metrics) -> bool:
    """``a`` delivers at least ``b``'s car energy with at most its extra import (within
    `tolerance`)."""
    tol = tolerance(a.car_kwh, b.car_kwh)
    return a.car_kwh >= b.car_kwh - tol and a.extra_import_kwh <= b.extra_import_kwh + tol


def pareto_floor(points: Sequence[tuple[float, float]], car_kwh: float) -> float:
    """The least extra import a strategy's curve reaches at ``car_kwh`` or more (the curve
    between its points is not interpolated: a setting reaches its own point only)."""
    reaching = [extra for energy, extra in points if energy >= car_kwh - tolerance(car_kwh)]
    return min(reaching) if reaching else math.inf


def curve_beyond(ours: Sequence[tuple[float, float]], other: Sequence[tuple[float, float]]) -> int:
    """How many of ``other``'s curve points no setting of ours matches or beats."""
    return sum(
        1 for energy, extra in other if pareto_floor(ours, energy) > extra + tolerance(energy)
    )


@dataclass(frozen=True, slots=True)
class DayVerdict:
    """The issue's targets for one day over its seeds."""

    name: str
    seeds: int
    dominates_evcc: int
    dominates_original: int
    half_gap: int  # seeds where ours closes ≥ half of evcc's gap
    curve_misses_evcc: int | None  # evcc curve points ours does not reach (first seed)


def verdict(results: Sequence[DayResult]) -> DayVerdict:
    """Targets of one day (all its seeds)."""
    half = 0
    for r in results:
        ours, evcc = r.default("ours"), r.default("evcc")
        if ours.gap_kwh is not None and evcc.gap_kwh is not None:
            half += ours.gap_kwh <= 0.5 * max(evcc.gap_kwh, 0.0) + tolerance(ours.car_kwh)
    first = next((r for r in results if r.seed_index == 0), results[0])
    curve_ours = [(m.car_kwh, m.extra_import_kwh) for m in first.metrics if m.kind == "ours"]
    curve_evcc = [(m.car_kwh, m.extra_import_kwh) for m in first.metrics if m.kind == "evcc"]
    return DayVerdict(
        name=results[0].name,
        seeds=len(results),
        dominates_evcc=sum(dominates(r.default("ours"), r.default("evcc")) for r in results),
        dominates_original=sum(
            dominates(r.default("ours"), r.default("original")) for r in results
        ),
        half_gap=half,
        curve_misses_evcc=curve_beyond(curve_ours, curve_evcc) if len(curve_evcc) > 1 else None,
    )


# -- output -------------------------------------------------------------------------------------

COLUMNS = (
    "Day",
    "Strategy",
    "Car kWh",
    "Extra import kWh",
    "Solar kWh (= export lost)",
    "Gap to optimum kWh",
    "Starts",
    "Longest import s",
    "p95 reduce s",
)


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return "—"
    return f"{value:.{digits}f}"


def _spread(values: Sequence[float | None], worst: Callable[[Sequence[float]], float]) -> str:
    """``median (worst)`` over seeds; one value alone."""
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    digits = 0 if all(float(v).is_integer() for v in known) else 2
    med = _fmt(statistics.median(known), digits)
    return med if len(known) == 1 else f"{med} ({_fmt(worst(known), digits)})"


def group(results: Sequence[DayResult]) -> dict[str, list[DayResult]]:
    """Results by day, in order."""
    days: dict[str, list[DayResult]] = {}
    for r in results:
        days.setdefault(r.name, []).append(r)
    return days


def markdown_table(results: Sequence[DayResult]) -> str:
    """A row per day and default strategy: median (worst) over the seeds."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name, runs in group(results).items():
        for kind in ("ours", "evcc", "original"):
            ms = [r.default(kind) for r in runs]
            row = (
                name,
                ms[0].strategy,
                _spread([m.car_kwh for m in ms], min),
                _spread([m.extra_import_kwh for m in ms], max),
                _spread([m.solar_kwh for m in ms], min),
                _spread([m.gap_kwh for m in ms], max),
                _spread([float(m.starts) for m in ms], max),
                _spread([float(m.longest_import_s) for m in ms], max),
                _spread([m.p95_reduce_s for m in ms], max),
            )
            lines.append("| " + " | ".join(row) + " |")
        b1 = [r.b1_kwh for r in runs]
        lines.append(
            f"| {name} | {B1} (most solar the car could take) | {_spread(b1, min)} | 0.00 | "
            f"{_spread(b1, min)} | — | — | — | — |"
        )
    return "\n".join(lines)


GRID_COLUMNS = (
    "Day",
    "Strategy",
    "Car kWh",
    "Max phase A",
    "s above fuse − margin",
    "s above fuse",
    "Curtailed PV used kWh",
)


def grid_table(results: Sequence[DayResult]) -> str | None:
    """Days with a main fuse or a feed-in limit: the grid connection per default strategy,
    median (worst) over the seeds (None when there is no such day)."""
    lines = ["| " + " | ".join(GRID_COLUMNS) + " |", "|" + "---|" * len(GRID_COLUMNS)]
    for name, runs in group(results).items():
        first = runs[0]
        if first.fuse_current_a <= 0 and first.feed_in_limit_w is None:
            continue
        for kind in ("ours", "evcc", "original"):
            ms = [r.default(kind) for r in runs]
            fused = first.fuse_current_a > 0
            row = (
                name
                if not fused
                else f"{name} ({first.fuse_current_a:g} A − {first.fuse_margin_a:g} A)",
                ms[0].strategy,
                _spread([m.car_kwh for m in ms], min),
                _spread([m.max_phase_a for m in ms], max) if fused else "—",
                _spread([_float(m.over_margin_s) for m in ms], max) if fused else "—",
                _spread([_float(m.over_fuse_s) for m in ms], max) if fused else "—",
                _spread([m.curtailed_used_kwh for m in ms], min)
                if first.feed_in_limit_w is not None
                else "—",
            )
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) if len(lines) > 2 else None


def _float(value: int | None) -> float | None:
    return float(value) if value is not None else None


def surplus_days(results: Sequence[DayResult]) -> list[DayResult]:
    """The results of days in PV mode: the targets and totals are about surplus charging
    (a Fast day charges from the grid by design; its table is the grid connection's)."""
    return [r for r in results if r.mode == "pv"]


def verdict_lines(results: Sequence[DayResult]) -> list[str]:
    """One line per day in PV mode: the targets, PASS or MISS."""
    lines = []
    for _, runs in group(surplus_days(results)).items():
        v = verdict(runs)
        marks = [
            f"dominates evcc {v.dominates_evcc}/{v.seeds} "
            + ("PASS" if v.dominates_evcc == v.seeds else "MISS"),
            f"dominates original {v.dominates_original}/{v.seeds} "
            + ("PASS" if v.dominates_original == v.seeds else "MISS"),
        ]
        if any(r.optimum is not None for r in runs):
            marks.append(
                f"closes ≥ half of evcc's gap {v.half_gap}/{v.seeds} "
                + ("PASS" if v.half_gap == v.seeds else "MISS")
            )
        if v.curve_misses_evcc is not None:
            marks.append(
                "curve on or beyond evcc's "
                + (
                    "PASS"
                    if v.curve_misses_evcc == 0
                    else f"MISS ({v.curve_misses_evcc} evcc point(s) not reached)"
                )
            )
        lines.append(f"targets {v.name}: " + "; ".join(marks))
    return lines


def overall_lines(results: Sequence[DayResult]) -> list[str]:
    """Over every day and seed in PV mode: how often ours at its defaults dominates each
    baseline, and the totals of car energy, extra import and starts."""
    results = surplus_days(results)
    lines = []
    for kind in ("evcc", "original"):
        wins = sum(dominates(r.default("ours"), r.default(kind)) for r in results)
        lost = sum(dominates(r.default(kind), r.default("ours")) and not
                   dominates(r.default("ours"), r.default(kind)) for r in results)  # fmt: skip
        lines.append(
            f"Over all {len(results)} day-seeds: ours dominates {kind} on {wins}, {kind} "
            f"dominates ours on {lost}, the rest are trade-offs (more energy for more import)."
        )
    for kind in ("ours", "evcc", "original"):
        ms = [r.default(kind) for r in results]
        gaps = [m.gap_kwh for m in ms if m.gap_kwh is not None]
        gap = f", gap to the optimum {sum(gaps):.2f} kWh" if gaps else ""
        lines.append(
            f"Totals {kind}: car {sum(m.car_kwh for m in ms):.1f} kWh, extra import "
            f"{sum(m.extra_import_kwh for m in ms):.2f} kWh{gap}, "
            f"{sum(m.starts for m in ms)} starts."
        )
    return lines


def below_optimum(results: Sequence[DayResult]) -> list[str]:
    """Strategies that beat the optimum's bound (the bound's assumptions do not hold)."""
    return [
        f"{r.name} seed {r.seed}: {m.strategy} {m.gap_kwh:.3f} kWh below the optimum"
        for r in results
        for m in r.metrics
        if m.gap_kwh is not None and m.gap_kwh < -0.01
    ]


def curves_table(results: Sequence[DayResult]) -> str:
    """Every setting of every strategy on the first seed of each day."""
    lines = [
        "| Day | Strategy | Setting | Car kWh | Extra import kWh | Gap kWh | Starts |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in group(results).items():
        first = next((r for r in runs if r.seed_index == 0), runs[0])
        for m in sorted(first.metrics, key=lambda m: (m.kind, m.car_kwh)):
            mark = " (default)" if m.default else ""
            lines.append(
                f"| {name} | {m.kind} | {m.strategy}{mark} | {m.car_kwh:.2f} | "
                f"{m.extra_import_kwh:.2f} | {_fmt(m.gap_kwh)} | {m.starts} |"
            )
    return "\n".join(lines)


def report(results: Sequence[DayResult], seconds: float, workers: int, realism: Realism) -> str:
    """Table, targets, curves and the run time."""
    days = group(results)
    seeds = max((len(v) for v in days.values()), default=0)
    lines = [
        "# Closed-loop benchmark",
        "",
        f"Generated by `{REGENERATE}` (bench/closed_loop.py explains every column; the "
        "README's benchmark section discusses the results).",
        "",
        markdown_table(results),
        "",
        f"Median (worst) over {seeds} seed(s) per day; worst = least car energy, most extra "
        "import, largest gap, most starts. Equal within 10 Wh or 0.2 % of the car energy.",
    ]
    grid = grid_table(results)
    if grid is not None:
        lines += [
            "",
            "## Grid connection",
            "",
            "Days with a main fuse (the highest phase current at the grid connection as the "
            "PAC2200 shows it, seconds any phase was above fuse − margin and above the fuse) "
            "or a feed-in limit (PV the reference day curtailed that the car used); median "
            "(worst) over the seeds. The optimum models no fuse: a day with one has no gap.",
            "",
            grid,
        ]
    lines += ["", *verdict_lines(results)]
    lines += ["", *overall_lines(results)]
    wrong = below_optimum(results)
    if wrong:
        lines += ["", "WARNING: below the optimum's bound:", *wrong]
    if any(len(r.metrics) > 3 for r in results):
        lines += ["", "## Curves (first seed of each day)", "", curves_table(results)]
    solve = sum(r.optimum.solve_s for r in results if r.optimum is not None)
    realism_text = "ideal readings" if realism == IDEAL else "meter noise, delay and read skew"
    lines += [
        "",
        f"{len(days)} day(s) × {seeds} seed(s), {realism_text}, in {seconds:.1f} s wall clock "
        f"({workers} worker process(es); the optimum took {solve:.1f} s of CPU time).",
    ]
    if not any(r.optimum is not None for r in results):
        lines.append("The optimum was not computed (pip install -r requirements_bench.txt).")
    return "\n".join(lines)


def to_json(results: Sequence[DayResult], seconds: float) -> dict[str, Any]:
    """Everything but the plot traces, JSON-ready."""
    return {
        "seconds": round(seconds, 2),
        "days": [
            {
                "name": r.name,
                "title": r.title,
                "seed": r.seed,
                "seconds": round(r.seconds, 2),
                "b1_kwh": r.b1_kwh,
                "optimum": asdict(r.optimum) if r.optimum is not None else None,
                "ours_currents": r.ours_currents,
                "metrics": [asdict(m) for m in r.metrics],
            }
            for r in results
        ],
        "targets": [asdict(verdict(runs)) for runs in group(surplus_days(results)).values()],
    }


STYLES = {"ours": "tab:green", "evcc": "tab:blue", "original": "tab:red"}


def write_plots(results: Sequence[DayResult], directory: Path) -> list[Path] | str:
    """Per day: the curves (car energy against extra import) with the optimum and B1, and
    the car's power over the window. A message instead when matplotlib is missing."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        return "matplotlib is not installed (pip install -r requirements_bench.txt): no plots"
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, runs in group(results).items():
        first = next((r for r in runs if r.seed_index == 0), runs[0])
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
        for kind, color in STYLES.items():
            points = sorted(
                (m.car_kwh, m.extra_import_kwh) for m in first.metrics if m.kind == kind
            )
            left.plot(*zip(*points, strict=True), "o-", color=color, ms=4, lw=1, label=kind)
            d = first.default(kind)
            left.plot(d.car_kwh, d.extra_import_kwh, "*", color=color, ms=14, mec="black")
        if first.optimum is not None:
            left.plot(
                *zip(*first.optimum.curve, strict=True),
                "-",
                color="black",
                lw=1.5,
                label="perfect-foresight optimum (bound)",
            )
        left.axvline(first.b1_kwh, color="gold", lw=2, ls="--", label="B1: most solar")
        # The interesting part: up to the largest car energy a strategy or B1 reached.
        right_edge = max([first.b1_kwh, *(m.car_kwh for m in first.metrics)]) * 1.15 + 0.5
        top_edge = max(m.extra_import_kwh for m in first.metrics if m.car_kwh <= right_edge)
        left.set_xlim(0, right_edge)
        left.set_ylim(-0.05 * (top_edge + 0.5), top_edge * 1.15 + 0.5)
        left.set_xlabel("car energy (kWh)")
        left.set_ylabel("extra grid import (kWh)")
        left.set_title(f"{name}: settings swept, ★ = defaults")
        left.grid(alpha=0.3)
        left.legend(fontsize=8)
        traces = first.traces
        if traces:
            start = traces["start_h"][0]
            hours = [start + i / 60 for i in range(len(traces["pv"]))]
            surplus = [max(p - h, 0.0) for p, h in zip(traces["pv"], traces["house"], strict=True)]
            right.fill_between(hours, surplus, color="gold", alpha=0.35, label="PV − household")
            for key, values in traces.items():
                if key.startswith("car "):
                    kind = next((k for k in STYLES if key == f"car {k}"), "ours")
                    right.plot(hours[: len(values)], values, color=STYLES[kind], lw=0.9, label=key)
            right.set_xlabel("hour of day")
            right.set_ylabel("W (1 min means)")
            right.legend(fontsize=8)
            right.grid(alpha=0.3)
        right.set_title(first.title)
        if first.fuse_current_a > 0 and any(k.startswith("phase ") for k in traces):
            _plot_phases(left, first)
        fig.tight_layout()
        path = directory / f"{name}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written


def _plot_phases(axes: Any, result: DayResult) -> None:
    """Replace the curves (a Fast day has none) by the highest phase current over time, with
    the fuse and the fuse − margin."""
    axes.clear()
    traces = result.traces
    start = traces["start_h"][0]
    for key, values in traces.items():
        if key.startswith("phase "):
            kind = next((k for k in STYLES if key == f"phase {k}"), "ours")
            hours = [start + i * PHASE_BIN_S / 3600.0 for i in range(len(values))]
            axes.plot(hours, values, color=STYLES[kind], lw=0.9, label=key)
    fuse, margin = result.fuse_current_a, result.fuse_margin_a
    axes.axhline(fuse, color="black", lw=1.5, label=f"fuse {fuse:g} A")
    axes.axhline(
        fuse - margin, color="black", lw=1, ls="--", label=f"fuse − margin {fuse - margin:g} A"
    )
    axes.set_xlabel("hour of day")
    axes.set_ylabel(f"highest phase current at the grid (A, max per {PHASE_BIN_S} s)")
    axes.set_title(f"{result.name}: the grid connection")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


# -- command line ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.closed_loop",
        description="Compare surplus-charging strategies on simulated days (no Modbus).",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(BUILTIN),
        metavar="NAME",
        help=f"built-in day (repeatable): {', '.join(BUILTIN)}; without any day option the "
        f"run takes all of them and the random days {DEFAULT_RANDOM}",
    )
    parser.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="SPEC",
        help="random days of the generator, e.g. 5 (seeds 1–5) or 100-104 (bench/random_days.py)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        type=Path,
        default=[],
        metavar="FILE.csv",
        help="a measured day: columns t_s,pv_w,house_w (house without the car)",
    )
    parser.add_argument(
        "--scenario-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE.json",
        help="scenario parameters (see bench/scenarios.py)",
    )
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per day")
    parser.add_argument("--no-curves", action="store_true", help="defaults only, no sweeps")
    parser.add_argument("--no-optimum", action="store_true", help="skip the MILP optimum")
    parser.add_argument("--ideal", action="store_true", help="no noise, delay or read skew")
    parser.add_argument("--plots", type=Path, metavar="DIR", help="write one PNG per day")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--output", type=Path, metavar="FILE", help="also write the report here")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: one per CPU)",
    )
    return parser


def random_days(specs: Sequence[str]) -> list[Scenario]:
    """Scenarios of the random-day generator (``N`` = seeds 1..N, ``A-B`` = seeds A..B)."""
    if not specs:
        return []
    generator = importlib.import_module("bench.random_days")
    chosen: list[Scenario] = []
    for spec in specs:
        text = spec.strip()
        if text.isdigit():
            text = f"random:1-{int(text)}"
        elif not text.startswith("random:"):
            text = f"random:{text}"
        parsed = generator.parse_random_spec(text)
        if parsed is None:
            raise ScenarioError(f"expected N or A-B for --random, got {spec!r}")
        chosen += parsed
    return chosen


def select_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """Built-in, random, profile and file days from the command line."""
    chosen: list[Scenario] = [BUILTIN[name] for name in args.scenario or ()]
    chosen += random_days(args.random)
    chosen += [profile_scenario(path) for path in args.profile]
    for path in args.scenario_file:
        chosen += load_scenarios(path)
    if not chosen:
        chosen = [*BUILTIN.values(), *random_days([DEFAULT_RANDOM])]
    return chosen


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the benchmark; 0 on success, 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        scenarios = select_scenarios(args)
        if args.seeds < 1:
            raise ScenarioError("--seeds must be at least 1")
    except (ScenarioError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    realism = IDEAL if args.ideal else Realism()
    jobs = make_jobs(
        scenarios,
        seeds=args.seeds,
        curves=not args.no_curves,
        realism=realism,
        optimum=not args.no_optimum,
        traces=args.plots is not None,
        cache=OPTIMUM_CACHE,
    )
    began = time.perf_counter()
    results = run_jobs(jobs, args.jobs)
    seconds = time.perf_counter() - began
    if args.json:
        text = json.dumps(to_json(results, seconds), indent=2)
    else:
        text = report(results, seconds, min(args.jobs, len(jobs)), realism)
    out(text)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    if args.plots is not None:
        written = write_plots(results, args.plots)
        message = written if isinstance(written, str) else f"{len(written)} plot(s) in {args.plots}"
        print(message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
