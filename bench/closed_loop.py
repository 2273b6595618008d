"""``python -m bench.closed_loop``: surplus-charging strategies in closed loop, no Modbus.

Every strategy drives its own copy of the simulator's site model (`SiteModel`), stepped at
1 s, with the car on the house circuit: the car's power is the model's
``loads["wallbox"]``, so the grid and the home battery (with its lag) see it, exactly as
with the Amtron simulator. Each strategy reads the site and the wallbox only when it
polls (ours every 2 s, the original tool every 20 s, evcc every 30 s) and writes a current
limit; the charger offers it to the car when it is at least 6 A (0 otherwise, nothing
during the first 2 s after plug-in, like the Amtron simulator) and the car follows with
its response delay and ramp (`simulator.car.Car`, 2 s + 3 s). The charger's communication
time-out never fires: every strategy polls it well within 60 s.

The day is simulated once up to the car's arrival (the strategies poll this shared part,
but without a car nothing they write changes the site), then each strategy continues on
its own copy of the model. The baselines stop when the car leaves (nothing they do after
that changes a metric); with ``--plots`` ours runs on to midnight. PV and household load are
identical for every strategy (same seed; checked).

Metrics (over the plug-in window, per second, end-of-second values):

- Car power is attributed to sources in this order: the household is served first (PV,
  then battery discharge, then grid), the car then takes the remaining PV ("solar"), then
  the remaining battery discharge ("battery"), the rest is "grid". PV that charges the
  home battery while the car imports is therefore counted as battery charging from the grid,
  not as solar in the car.
- Upper bound: per second, ``min(pv − household, max power)`` when that is at least the
  car's minimum power (6 A × 230 V × its phases), else 0 — no delays, all of it solar;
  it stops when the car would be full.
- Capture ratio: solar energy into the car ÷ the upper bound's. Strategies that keep a
  session at the minimum with some import also take PV the upper bound leaves (below the
  minimum power), so a ratio can exceed 1 on marginal days.
- Starts: the car's current rising from 0. Current changes: changes of the limit register
  while the car is plugged in.
- Longest import: longest run of seconds with the car drawing and grid import > 50 W.
- Time to reduce: a *drop* starts when the car's draw exceeds ``pv − household`` by more
  than 300 W (and did not the second before); its time is the seconds until the limit is
  lower than when the drop started, or until the drop is over if that comes first (the
  time was then spent drawing too much without a reduction). p95 by nearest rank.

Targets (PV-only mode, each scenario): grid + battery energy ≤ 3 % of the car's energy,
starts ≤ evcc's, solar energy into the car ≥ both baselines'.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import itertools
import json
import math
import os
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from custom_components.solar_wallbox.charging.model import ChargeMode, Settings
from simulator.car import Car, IecState
from simulator.model import SiteModel

from .scenarios import BUILTIN, Profile, Scenario, ScenarioError, load_scenarios, profile_scenario
from .strategies import (
    BASELINES,
    DAY0,
    VOLTAGE,
    Ours,
    Reading,
    Strategy,
    StrategySpec,
)

LOAD_NAME = "wallbox"
DAY = 86400
IMPORT_W = 50.0
DROP_W = 300.0
GRID_SHARE_TARGET = 0.03
PLOT_BIN_S = 10
IDLE_A = 0.006  # what the Amtron shows on a phase that carries nothing
OPERATOR_LIMIT_A = 16
MIN_OFFER_A = 6
PREPARING_S = 2.0
UPPER = "upper bound"
OURS = StrategySpec("ours", "ours", Settings(mode=ChargeMode.PV))


# -- one strategy on one model ---------------------------------------------------------


class Rig:
    """One strategy with its charger and car on a site model."""

    def __init__(self, spec: StrategySpec, scenario: Scenario) -> None:
        """Nothing plugged in; `attach` a model before running."""
        self.spec = spec
        self.scenario = scenario
        self.strategy: Strategy = spec.build()
        self.car = Car(scenario.car.config())
        self.model: SiteModel | None = None
        self.now = 0
        self.limit = 0  # register 1000
        self.plugged_at: float | None = None
        self.session_wh = 0.0
        self.writes = 0
        self.rejected = 0
        # Per second from the car's arrival (values after the poll of that second).
        self.pv = array("d")
        self.house = array("d")
        self.car_w = array("d")
        self.grid = array("d")
        self.battery = array("d")
        self.limits = array("i")
        self.soc_at_leave: float | None = None

    def attach(self, model: SiteModel) -> None:
        """Drive the car on ``model`` (its power becomes ``loads["wallbox"]``)."""
        self.model = model
        model.steppers.append(self._step)

    def _step(self, dt: float) -> None:
        """Called by `SiteModel.step`: plug/unplug, offer, car, load."""
        model, car, now = self.model, self.car, self.now
        assert model is not None
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
        self.session_wh += car.step(dt, offer, VOLTAGE)
        model.loads[LOAD_NAME] = car.phase_power(VOLTAGE)

    def poll(self, t: int, pv: float, house: float, battery: float, grid: float) -> None:
        """The strategy reads everything now and may write a limit."""
        model, car = self.model, self.car
        assert model is not None
        i1, i2, i3 = car.phase_currents
        plugged = car.plugged
        car_w = car.current_a * VOLTAGE * car.config.phases
        reading = Reading(
            t=float(t),
            pv_w=pv,
            house_w=house + car_w,
            grid_w=grid,
            battery_w=battery,
            soc_pct=model.soc_pct,
            plugged=plugged,
            charging=car.state in (IecState.C, IecState.D),
            car_w=car_w,
            currents=(i1 or IDLE_A, i2 or IDLE_A, i3 or IDLE_A),
            limit=self.limit,
            session_wh=self.session_wh,
            session_s=t - self.plugged_at if plugged and self.plugged_at is not None else 0.0,
            tag=car.config.tag if plugged else None,
        )
        command = self.strategy.poll(reading)
        if command is None:
            return
        if command == 0 or 6 <= command <= 32:
            self.writes += 1
            self.limit = command
        else:
            self.rejected += 1  # the Amtron answers exception 03

    def run(self, first: int, stop: int, profile: Profile | None, record_until: int) -> None:
        """Step seconds ``first`` .. ``stop - 1`` (time after each step), recording."""
        model, car, strategy = self.model, self.car, self.strategy
        assert model is not None
        step = model.step
        per_amp = VOLTAGE * car.config.phases
        pv_a, house_a, car_a = self.pv.append, self.house.append, self.car_w.append
        grid_a, battery_a, limit_a = self.grid.append, self.battery.append, self.limits.append
        leave = int(self.scenario.leave_s)
        for t in range(first, stop):
            self.now = t
            if profile is not None:
                model.pv_override = profile.pv_w[t]
                model.house_override = profile.house_w[t]
            step(1.0)
            pv = model.pv_w
            house = model.household_w
            battery = model.battery_w
            car_w = car.current_a * per_amp
            grid = house + car_w + battery - pv + model.additional_feeder_w
            if t >= strategy.next_poll:
                self.poll(t, pv, house, battery, grid)
            if t == leave:
                self.soc_at_leave = model.soc_pct
            if t < record_until:
                pv_a(pv)
                house_a(house)
                car_a(car_w)
                grid_a(grid)
                battery_a(battery)
                limit_a(self.limit)


# -- metrics ------------------------------------------------------------------------------


@dataclass(slots=True)
class Metrics:
    """One strategy on one scenario."""

    strategy: str
    car_kwh: float
    solar_kwh: float
    battery_kwh: float
    grid_kwh: float
    capture: float | None
    starts: int
    changes: int | None
    longest_import_s: int | None
    p95_reduce_s: float | None
    drops: int | None
    p95_reduce_above_min_s: float | None = None
    writes: int | None = None
    soc_at_leave: float | None = None

    @property
    def bought_share(self) -> float:
        """(grid + battery) ÷ car energy (0 without charging)."""
        return (self.grid_kwh + self.battery_kwh) / self.car_kwh if self.car_kwh > 0 else 0.0


def car_limits_w(scenario: Scenario) -> tuple[float, float]:
    """Minimum and maximum power the scenario's car can draw."""
    per_amp = VOLTAGE * scenario.car.phases
    return MIN_OFFER_A * per_amp, min(OPERATOR_LIMIT_A, scenario.car.max_current_a) * per_amp


def upper_bound(scenario: Scenario, pv: Sequence[float], house: Sequence[float]) -> list[float]:
    """Per second: the most PV power the car could take without import or discharge."""
    low, high = car_limits_w(scenario)
    car = scenario.car
    room_wh = max(0.0, car.target_soc_pct - car.soc_pct) / 100.0 * car.capacity_kwh * 1000.0
    room_wh /= car.efficiency
    out: list[float] = []
    for p, h in zip(pv, house, strict=True):
        surplus = p - h
        power = 0.0 if surplus < low or room_wh <= 0 else min(surplus, high)
        room_wh -= power / 3600.0
        out.append(power)
    return out


def attribute(
    pv: Sequence[float], house: Sequence[float], car: Sequence[float], battery: Sequence[float]
) -> tuple[float, float, float, float]:
    """Car, solar, battery and grid energy into the car in kWh (see the module docstring)."""
    total = solar = from_battery = 0.0
    for p, h, c, b in zip(pv, house, car, battery, strict=True):
        if c <= 0:
            continue
        discharge = -b if b < 0 else 0.0
        if p >= h:
            pv_left, battery_left = p - h, discharge
        else:
            pv_left, battery_left = 0.0, max(0.0, discharge - (h - p))
        s = c if c < pv_left else pv_left
        rest = c - s
        d = rest if rest < battery_left else battery_left
        total += c
        solar += s
        from_battery += d
    grid = total - solar - from_battery
    k = 3600.0 * 1000.0
    return total / k, solar / k, from_battery / k, max(0.0, grid) / k


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
    in force when it started."""
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


def evaluate(rig: Rig, window: int, upper_solar_kwh: float) -> Metrics:
    """The metrics of one rig over the plug-in window (its first ``window`` seconds)."""
    pv, house = rig.pv[:window], rig.house[:window]
    car, grid, battery, limits = (
        rig.car_w[:window],
        rig.grid[:window],
        rig.battery[:window],
        rig.limits[:window],
    )
    total, solar, from_battery, from_grid = attribute(pv, house, car, battery)
    times = reduce_times(pv, house, car, limits)
    return Metrics(
        strategy=rig.spec.label,
        car_kwh=total,
        solar_kwh=solar,
        battery_kwh=from_battery,
        grid_kwh=from_grid,
        capture=solar / upper_solar_kwh if upper_solar_kwh > 0 else None,
        starts=count_starts(car),
        changes=sum(1 for a, b in itertools.pairwise(limits) if a != b),
        longest_import_s=longest_import(car, grid),
        p95_reduce_s=percentile([t for t, _ in times], 0.95),
        p95_reduce_above_min_s=percentile([t for t, a in times if a > MIN_OFFER_A], 0.95),
        drops=len(times),
        writes=rig.writes,
        soc_at_leave=rig.soc_at_leave,
    )


# -- one scenario -------------------------------------------------------------------------


@dataclass(slots=True)
class Traces:
    """`PLOT_BIN_S`-second means over the whole day, for the plot."""

    bin_s: int
    start_s: float
    pv: list[float]
    house: list[float]
    grid_ours: list[float]
    car: dict[str, list[float]]


@dataclass(slots=True)
class ScenarioResult:
    """Everything one scenario produced."""

    name: str
    title: str
    metrics: list[Metrics]
    ours_currents: list[int]
    seconds: float
    traces: Traces | None = None
    exogenous_identical: bool = True


def _site_model(scenario: Scenario) -> SiteModel:
    model = SiteModel(
        scenario.pv,
        scenario.house,
        scenario.battery,
        seed=scenario.seed,
        start_s=scenario.start_s,
        soc_pct=scenario.soc_pct,
        day_start=DAY0.timestamp(),
    )
    if scenario.profile is not None:
        model.pv_override = scenario.profile.pv_w[int(scenario.start_s)]
        model.house_override = scenario.profile.house_w[int(scenario.start_s)]
    return model


def run_scenario(
    scenario: Scenario,
    specs: Sequence[StrategySpec] = (OURS, *BASELINES),
    *,
    full_day: bool = True,
    traces: bool = False,
) -> ScenarioResult:
    """Run every strategy on ``scenario``; the first spec is "ours" (plotted, full day)."""
    began = time.perf_counter()
    arrive, leave = math.ceil(scenario.arrive_s), math.ceil(scenario.leave_s)
    window = leave - arrive
    profile = scenario.profile
    rigs = [Rig(spec, scenario) for spec in specs]

    # Shared part: no car yet, the strategies poll the same model.
    model = _site_model(scenario)
    pre_pv, pre_house, pre_grid = array("d"), array("d"), array("d")

    def shared(t: int) -> None:
        pv, house, battery = model.pv_w, model.household_w, model.battery_w
        grid = house + battery - pv + model.additional_feeder_w
        pre_pv.append(pv)
        pre_house.append(house)
        pre_grid.append(grid)
        for rig in rigs:
            if t >= rig.strategy.next_poll:
                rig.model = model
                rig.poll(t, pv, house, battery, grid)

    begin = int(scenario.start_s)
    shared(begin)
    for t in range(begin + 1, arrive):
        if profile is not None:
            model.pv_override = profile.pv_w[t]
            model.house_override = profile.house_w[t]
        model.step(1.0)
        shared(t)

    first = max(arrive, begin + 1)
    for index, rig in enumerate(rigs):
        rig.attach(copy.deepcopy(model))
        # Ours runs on to midnight for the plot; nothing after `leave` enters a metric.
        tail = traces and full_day and index == 0
        stop = DAY if tail else leave + 1
        rig.run(first, stop, profile, stop if tail else leave)

    reference = rigs[0]
    identical = all(
        rig.pv[:window] == reference.pv[:window] and rig.house[:window] == reference.house[:window]
        for rig in rigs[1:]
    )
    upper = upper_bound(scenario, reference.pv[:window], reference.house[:window])
    upper_kwh = sum(upper) / 3.6e6
    metrics = [evaluate(rig, window, upper_kwh) for rig in rigs]
    metrics.append(
        Metrics(
            strategy=UPPER,
            car_kwh=upper_kwh,
            solar_kwh=upper_kwh,
            battery_kwh=0.0,
            grid_kwh=0.0,
            capture=1.0 if upper_kwh > 0 else None,
            starts=count_starts(upper),
            changes=None,
            longest_import_s=None,
            p95_reduce_s=None,
            drops=None,
        )
    )
    ours = rigs[0].strategy
    result = ScenarioResult(
        name=scenario.name,
        title=scenario.title,
        metrics=metrics,
        ours_currents=sorted(ours.decided) if isinstance(ours, Ours) else [],
        seconds=0.0,
        exogenous_identical=identical,
    )
    if traces:
        offset = [0.0] * len(pre_pv)
        cars = {rig.spec.label: offset + list(rig.car_w[:window]) for rig in rigs}
        cars[UPPER] = offset + upper
        result.traces = Traces(
            bin_s=PLOT_BIN_S,
            start_s=float(begin),
            pv=_bins([*pre_pv, *reference.pv]),
            house=_bins([*pre_house, *reference.house]),
            grid_ours=_bins([*pre_grid, *reference.grid]),
            car={name: _bins(values) for name, values in cars.items()},
        )
    result.seconds = time.perf_counter() - began
    return result


def _bins(values: Sequence[float], size: int = PLOT_BIN_S) -> list[float]:
    return [
        sum(values[i : i + size]) / len(values[i : i + size]) for i in range(0, len(values), size)
    ]


# -- targets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One target for one scenario."""

    name: str
    passed: bool
    detail: str


def targets(result: ScenarioResult, label: str = "ours") -> list[Target]:
    """The issue's targets for the strategy ``label`` against the baselines."""
    by_name = {m.strategy: m for m in result.metrics}
    ours, original, evcc = by_name[label], by_name["original"], by_name["evcc"]
    upper = by_name[UPPER]
    share = ours.bought_share
    best = max(original.solar_kwh, evcc.solar_kwh)
    capture = f"{ours.capture:.2f}" if ours.capture is not None else "n/a (no PV surplus)"
    return [
        Target(
            "grid+battery ≤ 3 %",
            share <= GRID_SHARE_TARGET,
            f"{100 * share:.1f} % of {ours.car_kwh:.1f} kWh",
        ),
        Target("starts ≤ evcc", ours.starts <= evcc.starts, f"{ours.starts} vs {evcc.starts}"),
        Target(
            "solar ≥ baselines",
            ours.solar_kwh >= best - 1e-9,
            f"{ours.solar_kwh:.2f} vs {original.solar_kwh:.2f} / {evcc.solar_kwh:.2f} kWh",
        ),
        Target("capture", True, f"{capture} of {upper.solar_kwh:.1f} kWh"),
    ]


def targets_line(result: ScenarioResult, label: str = "ours") -> str:
    """``targets NAME: … PASS/MISS`` for one scenario."""
    parts = []
    for target in targets(result, label):
        if target.name == "capture":
            parts.append(f"capture ratio {target.detail}")
        else:
            mark = "PASS" if target.passed else "MISS"
            parts.append(f"{target.name}: {target.detail} {mark}")
    return f"targets {result.name}: " + "; ".join(parts)


# -- output -------------------------------------------------------------------------------

COLUMNS = (
    "Scenario",
    "Strategy",
    "Car kWh",
    "Solar kWh",
    "Battery kWh",
    "Grid kWh",
    "Grid+batt %",
    "Capture",
    "Starts",
    "Changes",
    "Longest import s",
    "p95 reduce s",
    "p95 reduce >min s",
    "Drops",
)


def _fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def markdown_table(results: Sequence[ScenarioResult]) -> str:
    """One Markdown table: a row per scenario and strategy."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in results:
        for m in result.metrics:
            row = (
                result.name,
                m.strategy,
                _fmt(m.car_kwh),
                _fmt(m.solar_kwh),
                _fmt(m.battery_kwh),
                _fmt(m.grid_kwh),
                _fmt(100 * m.bought_share, 1),
                _fmt(m.capture),
                _fmt(m.starts),
                _fmt(m.changes),
                _fmt(m.longest_import_s),
                _fmt(m.p95_reduce_s, 0),
                _fmt(m.p95_reduce_above_min_s, 0),
                _fmt(m.drops),
            )
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def report(results: Sequence[ScenarioResult], seconds: float, workers: int) -> str:
    """Table, targets and the run time."""
    lines = [markdown_table(results), ""]
    lines += [targets_line(result) for result in results]
    simulated = len(results[0].metrics) - 1 if results else 0
    lines += [
        "",
        f"{len(results)} scenario(s) × {simulated} simulated strategies + upper bound "
        f"in {seconds:.1f} s wall clock ({workers} worker process(es)).",
    ]
    bad = [r.name for r in results if not r.exogenous_identical]
    if bad:
        lines.append(f"WARNING: PV/house differed between strategies in {', '.join(bad)}")
    return "\n".join(lines)


def to_json(results: Sequence[ScenarioResult], seconds: float) -> dict[str, Any]:
    """Everything but the plot traces, JSON-ready."""
    return {
        "seconds": round(seconds, 2),
        "scenarios": [
            {
                "name": r.name,
                "title": r.title,
                "seconds": round(r.seconds, 2),
                "exogenous_identical": r.exogenous_identical,
                "ours_currents": r.ours_currents,
                "metrics": [{**asdict(m), "grid_battery_share": m.bought_share} for m in r.metrics],
                "targets": [asdict(t) for t in targets(r)],
            }
            for r in results
        ],
    }


def write_plots(results: Sequence[ScenarioResult], directory: Path) -> list[Path] | str:
    """One PNG per scenario; a message instead when matplotlib is missing."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        return "matplotlib is not installed (pip install -r requirements_bench.txt): no plots"
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    styles = {
        "ours": ("tab:green", "-", 1.4),
        "original": ("tab:red", "-", 1.0),
        "evcc": ("tab:blue", "-", 1.0),
        UPPER: ("black", ":", 1.0),
    }
    for result in results:
        traces = result.traces
        if traces is None:
            continue
        hours = [(traces.start_s + i * traces.bin_s) / 3600.0 for i in range(len(traces.pv))]
        fig, (top, bottom) = plt.subplots(
            2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
        top.fill_between(hours, traces.pv, color="gold", alpha=0.35, label="PV")
        top.plot(hours, traces.house, color="gray", lw=0.8, label="house (without car)")
        for name, values in traces.car.items():
            color, style, width = styles.get(name, ("tab:purple", "-", 1.0))
            top.plot(
                hours[: len(values)], values, color=color, ls=style, lw=width, label=f"car {name}"
            )
        top.set_ylabel("W")
        top.set_title(f"{result.name}: {result.title}")
        top.legend(loc="upper left", fontsize=8, ncols=2)
        top.grid(alpha=0.3)
        bottom.plot(hours, traces.grid_ours, color="tab:green", lw=0.8, label="grid (ours)")
        bottom.axhline(0, color="black", lw=0.5)
        bottom.set_ylabel("W (+ import)")
        bottom.set_xlabel("hour of day")
        bottom.legend(loc="upper left", fontsize=8)
        bottom.grid(alpha=0.3)
        bottom.set_xlim(0, 24)
        fig.tight_layout()
        path = directory / f"{result.name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


# -- sweep -----------------------------------------------------------------------------------

DEFAULT_SWEEP: dict[str, list[str]] = {
    "priority_soc": ["50", "0"],
    "start_energy": ["30", "100"],
    "stop_energy": ["50", "150"],
}


def sweep_specs(grid: dict[str, list[str]], *, clamp: bool = False) -> list[StrategySpec]:
    """Our strategy with every combination of the given `Settings` values (each also with
    the accumulators clamped, an experiment, when ``clamp``)."""
    types = {f.name: type(getattr(Settings(), f.name)) for f in fields(Settings)}
    for key in grid:
        if key not in types or types[key] not in (int, float):
            raise ValueError(f"{key!r} is not a numeric Settings field")
    keys = list(grid)
    specs: list[StrategySpec] = []
    for values in itertools.product(*(grid[k] for k in keys)):
        changes: dict[str, Any] = {k: types[k](v) for k, v in zip(keys, values, strict=True)}
        label = ",".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
        settings = replace(Settings(mode=ChargeMode.PV), **changes)
        specs.append(StrategySpec("ours", label, settings))
        if clamp:
            specs.append(StrategySpec("ours", label + " +clamp", settings, clamp=True))
    return specs


def sweep_report(results: Sequence[ScenarioResult], specs: Sequence[StrategySpec]) -> str:
    """Which settings meet which targets where."""
    defaults = Settings()
    head = ["Settings", *(r.name for r in results), "all targets", "solar kWh", "grid+batt %"]
    lines = [
        "Marks per scenario: g = grid+battery ≤ 3 %, s = starts ≤ evcc, "
        "p = solar ≥ baselines (upper case = met, '-' = missed).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for spec in specs:
        marks: list[str] = []
        met = 0
        solar = car = bought = 0.0
        for result in results:
            checks = targets(result, spec.label)[:3]
            marks.append(
                "".join(
                    letter.upper() if check.passed else "-"
                    for letter, check in zip("gsp", checks, strict=True)
                )
            )
            met += all(check.passed for check in checks)
            m = next(x for x in result.metrics if x.strategy == spec.label)
            solar += m.solar_kwh
            car += m.car_kwh
            bought += m.grid_kwh + m.battery_kwh
        settings = spec.settings or defaults
        changed = [
            f"{f.name}={getattr(settings, f.name)}"
            for f in fields(Settings)
            if getattr(settings, f.name) != getattr(defaults, f.name)
        ]
        name = (", ".join(changed) or "defaults") + (" +clamp" if spec.clamp else "")
        share = 100 * bought / car if car else 0.0
        lines.append(
            f"| {name} | "
            + " | ".join(marks)
            + f" | {met}/{len(results)} | {solar:.1f} | {share:.1f} |"
        )
    return "\n".join(lines)


def _parse_sweep(items: Sequence[str]) -> dict[str, list[str]]:
    if not items:
        return dict(DEFAULT_SWEEP)
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"expected KEY=V1,V2,…, got {item!r}")
        grid[key.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    return grid


# -- command line --------------------------------------------------------------------------


def _job(
    args: tuple[Scenario, tuple[StrategySpec, ...], bool, bool],
) -> ScenarioResult:
    scenario, specs, full_day, traces = args
    return run_scenario(scenario, specs, full_day=full_day, traces=traces)


def run_all(
    scenarios: Sequence[Scenario],
    specs: Sequence[StrategySpec],
    *,
    jobs: int,
    full_day: bool = True,
    traces: bool = False,
) -> list[ScenarioResult]:
    """Run the scenarios, in ``jobs`` worker processes when more than one."""
    work = [(s, tuple(specs), full_day, traces) for s in scenarios]
    if jobs <= 1 or len(work) <= 1:
        return [_job(w) for w in work]
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        return list(pool.map(_job, work))


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
        help=f"built-in scenario (repeatable; default: all): {', '.join(BUILTIN)}",
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
    parser.add_argument("--seed", type=int, help="override every scenario's seed")
    parser.add_argument("--plots", type=Path, metavar="DIR", help="write one PNG per scenario")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--output", type=Path, metavar="FILE", help="also write the report here")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: one per CPU)",
    )
    parser.add_argument(
        "--sweep",
        nargs="*",
        metavar="KEY=V1,V2",
        help="also run ours with every combination of these Settings values "
        f"(default grid: {' '.join(k + '=' + ','.join(v) for k, v in DEFAULT_SWEEP.items())})",
    )
    parser.add_argument(
        "--clamp",
        action="store_true",
        help="experiment: run every sweep variant also with the start/stop energy "
        "accumulators capped at their thresholds (a proposed controller change)",
    )
    return parser


def select_scenarios(args: argparse.Namespace) -> list[Scenario]:
    """Built-in, profile and file scenarios from the command line."""
    chosen: list[Scenario] = [BUILTIN[name] for name in args.scenario or ()]
    chosen += [profile_scenario(path) for path in args.profile]
    for path in args.scenario_file:
        chosen += load_scenarios(path)
    if not chosen:
        chosen = list(BUILTIN.values())
    if args.seed is not None:
        chosen = [replace(s, seed=args.seed) for s in chosen]
    return chosen


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the benchmark; 0 on success, 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        scenarios = select_scenarios(args)
        sweep = (
            sweep_specs(_parse_sweep(args.sweep), clamp=args.clamp)
            if args.sweep is not None
            else []
        )
    except (ScenarioError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    specs: list[StrategySpec] = [OURS, *BASELINES]
    specs += [s for s in sweep if s.settings != OURS.settings or s.clamp]
    began = time.perf_counter()
    results = run_all(scenarios, specs, jobs=args.jobs, traces=args.plots is not None)
    seconds = time.perf_counter() - began
    main_specs = {OURS.label, *(b.label for b in BASELINES), UPPER}
    shown = [
        replace(r, metrics=[m for m in r.metrics if m.strategy in main_specs]) for r in results
    ]
    if args.json:
        text = json.dumps(to_json(results, seconds), indent=2)
    else:
        text = report(shown, seconds, min(args.jobs, len(scenarios)))
        if sweep:
            text += "\n\n## Sweep (ours with other Settings)\n\n" + sweep_report(
                results, [OURS, *(s for s in sweep if s.settings != OURS.settings or s.clamp)]
            )
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
