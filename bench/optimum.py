"""Perfect-foresight optimum of one simulated day, and the B1 bound (pure functions).

The closed-loop bench (bench/closed_loop.py) records, per second of a horizon (e.g. 30 h:
midnight to 06:00 the next morning), the PV power and the household load without the car
(`SiteModel.pv_available_w`, `SiteModel.household_w` in simulator/model.py: the PV before
any curtailment by a feed-in limit, see `bench.scenarios.Scenario.has_optimum`). With
those arrays, the home battery, the car and its plug-in window in `DayInputs`, this module
answers: how low can the grid import be for a car that takes at least E kWh, for any
controller with perfect knowledge of the day?

Objective (kWh), the same for the optimum, `greedy_no_car_kwh` and the bench::

    import over the horizon − energy stored in the home battery at its end above soc_min

(the battery is lossless, simulator/model.py `_step_battery`, so stored energy is worth as
much as imported energy). The bench's *extra import* of a strategy is this quantity of its
run minus that of the run without a car; a bound of `optimum(d, E)` minus the no-car
run's value is then a lower bound on the extra import of every controller (of the kind that
bound covers, see below) whose car takes at least E kWh, counted at the wallbox meter as
the sum of the car's power over the same seconds that enter the grid.

Sample ``i`` of ``pv_w``/``house_w`` is the power during second ``[t0_s + i, t0_s + i + 1)``.
The car can draw in the seconds that overlap ``[arrive_s, leave_s]`` (`DayInputs.window`).

API::

    d = DayInputs(t0_s, pv_w, house_w, battery, soc_pct, arrive_s, leave_s,
                  phases, max_current_a, car_room_kwh, min_on_s=120, min_off_s=120,
                  min_current_a=6)
    b1_kwh(d)                         # solar surplus the car could take (no battery, no 6 A)
    max_car_kwh(d)                    # most car energy at all (full current the whole window)
    greedy_no_car_kwh(d)              # objective of the greedy battery without a car
    optimum(d, E, options=SolveOptions())  # -> OptimumPoint
    optimum_curve(d, [E1, E2, ...], options=..., cache=...)  # the same, made monotone
    car_w_per_second(d, point, options)    # the point's schedule, per second
    OptimumCache(path).get_or_solve(d, E, options)

`OptimumPoint` holds two lower bounds, the best schedule found and its value:

- ``any_controller_kwh``: valid for **every** controller that delivers ≥ E on this day.
- ``objective_kwh`` (≥ the former): valid for every controller that holds the car's
  current for whole fine intervals (on the grid starting at the arrival) and keeps the
  minimum on/off times — the MILP below.
- ``primal_kwh``, ``car_w``: the best such schedule found, valued in the same relaxed
  model (not simulated: `car_w_per_second` gives it per second for a simulation).

The model (scipy.optimize.milp, HiGHS; scipy and numpy come from requirements_bench.txt,
nothing in custom_components/ imports them). The horizon is cut into intervals:
`SolveOptions.fine_s` (default 60 s) inside the plug-in window, `coarse_s` (default 300 s)
outside, where no car can draw. PV and household load enter as interval means.

- Car, per fine interval: on/off (binary) and an integer current, offers from 6 A (or the
  car's `min_current_a`) to 16 A, drawn as ``min(offer, max_current_a)`` (simulator/car.py
  `Car.target_for`; so a car whose maximum is not a whole number of amperes draws exactly
  it), power = current × 230 V × phases, constant over the interval. Once switched on it
  stays on for ``floor(min_on_s / fine_s)`` intervals, once switched off it stays off for
  ``floor(min_off_s / fine_s)`` (standard start/stop indicator constraints; rounded down,
  so this only relaxes); switching on at arrival and being cut by the departure are
  allowed. Car energy ≥ E and ≤ ``car_room_kwh`` plus one fine interval at full power (the
  car stops inside an interval when it is full).
- Home battery, relaxed: any net power in ``[−max_discharge, max_charge]`` per interval
  (charging at most the interval's mean PV), the stored energy within the SoC limits at the
  interval boundaries, lossless, no lag and no greedy rule. Every trajectory of the real
  battery (simulator/model.py `_step_battery`) has interval means inside this set. (The
  "charging ≤ PV" cut may be missed by the real battery's lag for a second, but it never
  changes the optimum: in a lossless battery with this objective, charging beyond the PV
  can only be covered by import, which costs exactly what it stores.)
- Import per interval ≥ mean(house + car + battery − pv) and ≥ 0. Since
  ``Σ max(x_t, 0) ≥ max(Σ x_t, 0)`` (Jensen), the mean understates the per-second import
  of the same schedule.

Without the minimum times and with on/off and current continuous, the car's interval mean
is free in ``[0, max power]``: that LP relaxation is a bound for any controller at all
(switching inside intervals, the 6 A minimum, ramps, delays, a tapering car).

Solving (`optimum`): the LP relaxation first (``any_controller_kwh`` and a first bound);
then a rounding heuristic (`_heuristic`) turns its schedule into one of the MILP; only if
the two are more than `SolveOptions.gap_kwh` apart, HiGHS solves the MILP within the rest
of `SolveOptions.time_limit_s`, and its dual bound (``mip_dual_bound``, valid also when it
stops at the gap or the time limit) and schedule replace worse ones.

Not covered by ``objective_kwh`` (``any_controller_kwh`` covers all of these): current
changes inside an interval, a grid of intervals other than the one aligned to the
arrival, the car's response delay and ramp (simulator/car.py, 2 s + 3 s: a real car's
power is not constant over an interval), the car drawing less than the level offered
(taper near full, `CarConfig.taper_soc_pct`). Neither bound models the battery's lag or
the averaging inside intervals (both relaxed away, see above), so both are lower than what
a simulation of the best schedule shows (measured: 0.01–0.5 kWh on the built-in days, most
with fast clouds); the run without a car has the lag too, so a bound minus the simulated
no-car value can come out slightly below 0 at small E.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simulator.car import MIN_OFFER_A, NOMINAL_VOLTAGE_V
from simulator.model import BatteryConfig

VERSION = 1
"""Part of every cache key: raise it when the model or the formulation changes."""
OPERATOR_MAX_A = 16.0
"""Highest current the charger offers (the operator's limit)."""
PATTERNS_LP = 6
"""The heuristic solves the LP of the currents for at most this many on/off patterns (in
the order of their quick score), stopping early once a schedule is within the gap."""
ROUNDING_KWH = 0.005
"""Energies up to this much above `max_car_kwh` are solved at `max_car_kwh`."""
ROUNDING_S = 0.5
"""Time the heuristic may spend on choosing whole amperes for its best on/off pattern."""

type FloatArray = NDArray[np.float64]


def _f64(values: Any) -> FloatArray:
    """`values` as a float64 array (numpy's stubs widen arithmetic results)."""
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class DayInputs:
    """One simulated day as the bench recorded it (see the module docstring)."""

    t0_s: int
    """Seconds after midnight of sample 0 (usually 0)."""
    pv_w: Sequence[float]
    """PV power per second, from `t0_s` to the end of the horizon."""
    house_w: Sequence[float]
    """Household load without the car, per second (same length as `pv_w`)."""
    battery: BatteryConfig
    soc_pct: float
    """Home battery state of charge at `t0_s`."""
    arrive_s: float
    """Plug-in window, seconds after midnight (same clock as `t0_s`)."""
    leave_s: float
    phases: int
    max_current_a: float
    """What the car's on-board charger takes at most per phase."""
    car_room_kwh: float
    """Most energy the car can still take (at the wallbox meter)."""
    min_on_s: float = 120.0
    """Once switched on, the car stays on at least this long (within the window)."""
    min_off_s: float = 120.0
    """Once switched off, it stays off at least this long (within the window)."""
    min_current_a: float = MIN_OFFER_A
    """The smallest offer the car charges with (simulator/car.py `CarConfig.min_current_a`;
    values up to 6 A act like 6 A)."""

    def __post_init__(self) -> None:
        """Check lengths, the car and the window."""
        if len(self.pv_w) != len(self.house_w):
            raise ValueError("pv_w and house_w must have the same length")
        if self.phases not in (1, 3):
            raise ValueError("a car charges on 1 or 3 phases")
        if not self.arrive_s <= self.leave_s:
            raise ValueError("arrival after departure")
        if self.max_current_a <= 0 or self.car_room_kwh < 0:
            raise ValueError("max_current_a must be > 0 and car_room_kwh ≥ 0")

    @property
    def window(self) -> tuple[int, int]:
        """Sample indices ``[first, end)`` of the seconds that overlap the plug-in window
        ``[arrive_s, leave_s]``, the second that starts at `leave_s` included (the bench
        pairs the car's last step with that sample; one second more only relaxes)."""
        n = len(self.pv_w)
        first = math.floor(self.arrive_s - self.t0_s)
        end = math.floor(self.leave_s - self.t0_s) + 1
        first = min(max(first, 0), n)
        return first, min(max(end, first), n)

    @property
    def lowest_offer_a(self) -> float:
        """The smallest whole-ampere offer the car accepts."""
        return max(MIN_OFFER_A, float(math.ceil(self.min_current_a - 1e-9)))

    @property
    def car_max_w(self) -> float:
        """Highest power the car draws (16 A or its own maximum, whichever is lower; 0 if
        it refuses every offer up to 16 A)."""
        if self.lowest_offer_a > OPERATOR_MAX_A:
            return 0.0
        return min(OPERATOR_MAX_A, self.max_current_a) * NOMINAL_VOLTAGE_V * self.phases


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Resolution and solver limits of `optimum` (all part of the cache key)."""

    fine_s: int = 60
    """Interval length inside the plug-in window."""
    coarse_s: int = 300
    """Interval length outside it (no car there)."""
    time_limit_s: float = 2.0
    gap_kwh: float = 0.01
    """Done when the best schedule is within this of the bound (see `optimum`)."""
    integer_current: bool = True
    """False: any real current in range (relaxes further, see the module docstring)."""


DEFAULT_OPTIONS = SolveOptions()


@dataclass(frozen=True, slots=True)
class OptimumPoint:
    """Result of one solve."""

    car_kwh: float
    """Car energy required (at least)."""
    objective_kwh: float
    """Lower bound on import − stored energy at the end (kWh) for every controller that
    delivers ≥ `car_kwh` holding its current for whole fine intervals and keeping the
    minimum on/off times (the MILP's dual bound); ``inf`` if infeasible."""
    primal_kwh: float | None
    """Objective of the best schedule found (upper end), None if none was found."""
    seconds: float
    """Solve time."""
    status: str = "optimal"
    """``optimal``: primal − bound ≤ `SolveOptions.gap_kwh`; ``limit``: the time limit
    came first (further apart); ``infeasible``: more energy than the car can take."""
    car_w: tuple[float, ...] = field(default=(), compare=False)
    """Car power per fine interval of the best schedule (empty if none)."""
    any_controller_kwh: float = -math.inf
    """Lower bound for every controller whatsoever that delivers ≥ `car_kwh`: the LP
    relaxation without minimum times, where the car's interval means are free in
    ``[0, max power]`` (so the 6 A minimum, switching inside intervals, ramps and delays are
    all covered). ≤ `objective_kwh`."""


# -- Simple bounds, per second ---------------------------------------------------------


def b1_kwh(d: DayInputs) -> float:
    """B1: ∫ over the window of ``min(max(pv − house, 0), car max power)``, capped by room.

    Exact per second; no battery, no 6 A minimum, no delays.
    """
    first, end = d.window
    pv = np.asarray(d.pv_w[first:end], dtype=np.float64)
    house = np.asarray(d.house_w[first:end], dtype=np.float64)
    surplus = np.clip(pv - house, 0.0, d.car_max_w)
    return min(float(surplus.sum()) / 3.6e6, d.car_room_kwh)


def max_car_kwh(d: DayInputs) -> float:
    """The most car energy possible: full current over the whole window, capped by room."""
    first, end = d.window
    return min(d.car_max_w * (end - first) / 3.6e6, d.car_room_kwh)


def greedy_no_car_kwh(d: DayInputs) -> float:
    """Import − stored energy at the end (kWh) of the greedy battery without a car.

    Per second and without the lag: the battery takes the power that brings the grid to 0,
    within its power limits and the room/stored energy left (simulator/model.py
    `_battery_target_w`, `_step_battery` with ``time_constant_s = 0``).
    """
    config = d.battery
    capacity = config.capacity_wh
    stored = (d.soc_pct - config.soc_min_pct) / 100.0 * capacity
    top = (config.soc_max_pct - config.soc_min_pct) / 100.0 * capacity
    imported = 0.0
    for pv, house in zip(d.pv_w, d.house_w, strict=True):
        surplus = pv - house
        power = min(max(surplus, -config.max_discharge_w), config.max_charge_w)
        power = min(max(power, -max(stored, 0.0) * 3600.0), max(top - stored, 0.0) * 3600.0)
        stored += power / 3600.0
        imported += max(power - surplus, 0.0) / 3600.0
    return (imported - stored) / 1000.0


# -- The MILP ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Grid:
    """Intervals of the horizon: lengths (s), mean PV/house (kW), which are fine ones."""

    length_s: FloatArray
    pv_kw: FloatArray
    house_kw: FloatArray
    fine: tuple[int, ...]
    """Indices of the intervals inside the plug-in window, in time order."""


def _starts(begin: int, end: int, step: int) -> list[int]:
    return list(range(begin, end, max(step, 1)))


def _grid(d: DayInputs, options: SolveOptions) -> _Grid:
    n = len(d.pv_w)
    first, end = d.window
    starts = _starts(0, first, options.coarse_s)
    fine_from = len(starts)
    starts += _starts(first, end, options.fine_s)
    fine_to = len(starts)
    starts += _starts(end, n, options.coarse_s)
    if not starts:
        raise ValueError("empty horizon")
    index = np.asarray(starts, dtype=np.intp)
    length = np.diff(np.append(index, n)).astype(np.float64)
    pv = _f64(np.add.reduceat(np.asarray(d.pv_w, dtype=np.float64), index) / length / 1000.0)
    house = _f64(np.add.reduceat(np.asarray(d.house_w, dtype=np.float64), index) / length / 1e3)
    return _Grid(length, pv, house, tuple(range(fine_from, fine_to)))


class _Rows:
    """Sparse constraint rows ``low ≤ Σ coef·x ≤ high`` collected as triplets."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.low: list[float] = []
        self.high: list[float] = []

    def add(self, terms: Sequence[tuple[int, float]], low: float, high: float) -> None:
        row = len(self.low)
        for col, val in terms:
            self.rows.append(row)
            self.cols.append(col)
            self.vals.append(val)
        self.low.append(low)
        self.high.append(high)


@dataclass(frozen=True, slots=True)
class _Car:
    """Current levels of the car: whole amperes ``low..high`` when on, plus ``frac`` on top
    at its own maximum (simulator/car.py `Car.target_for`: ``min(offer, max_current_a)``)."""

    low_a: float
    high_a: float
    frac_a: float
    kw_per_a: float

    @staticmethod
    def of(d: DayInputs) -> _Car:
        """Offers are whole amperes from `DayInputs.lowest_offer_a` to 16 A; the car draws
        ``min(offer, max_current_a)``."""
        kw_per_a = NOMINAL_VOLTAGE_V * d.phases / 1000.0
        limit = d.car_max_w / 1000.0 / kw_per_a
        lowest = d.lowest_offer_a
        if limit <= lowest:  # a single level: its maximum (or nothing at all)
            return _Car(0.0, 0.0, limit, kw_per_a)
        high = float(math.floor(limit))
        return _Car(lowest, high, limit - high, kw_per_a)

    @property
    def min_a(self) -> float:
        """Lowest current when on."""
        return self.low_a if self.high_a > 0 else self.frac_a

    @property
    def max_a(self) -> float:
        return self.high_a + self.frac_a

    def down(self, amps: float) -> float:
        """Highest level ≤ `amps` (at least the lowest one)."""
        if amps >= self.max_a - 1e-9:
            return self.max_a
        return max(float(math.floor(amps + 1e-9)), self.min_a)

    def up(self, amps: float) -> float:
        """Lowest level ≥ `amps`."""
        level = self.down(amps)
        if amps <= level + 1e-9:
            return level
        return min(level + 1.0, self.max_a) if level + 1.0 <= self.high_a else self.max_a


@dataclass(frozen=True, slots=True)
class _Problem:
    """Everything `_model` needs besides the on/off pattern."""

    d: DayInputs
    grid: _Grid
    car: _Car
    car_kwh: float
    options: SolveOptions
    e0: float
    """Stored energy above soc_min at the start, kWh."""
    e_low: float
    e_high: float
    min_up: int
    min_down: int

    @property
    def offset(self) -> float:
        """Import − stored end ≥ −e_high: adding this makes the objective ≥ 0, so that
        HiGHS's relative gap means something when the value itself is near 0."""
        return max(self.e_high, 0.0)

    @property
    def hours(self) -> FloatArray:
        return _f64(self.grid.length_s / 3600.0)


@dataclass(frozen=True, slots=True)
class _Model:
    cost: FloatArray
    integrality: FloatArray
    low: FloatArray
    high: FloatArray
    rows: _Rows
    cur: int
    top: int
    on: int


def _problem(d: DayInputs, car_kwh: float, options: SolveOptions) -> _Problem:
    config = d.battery
    capacity_kwh = config.capacity_wh / 1000.0
    e0 = (d.soc_pct - config.soc_min_pct) / 100.0 * capacity_kwh
    e_top = (config.soc_max_pct - config.soc_min_pct) / 100.0 * capacity_kwh
    return _Problem(
        d,
        _grid(d, options),
        _Car.of(d),
        car_kwh,
        options,
        e0,
        min(0.0, e0),
        max(e_top, e0),
        max(1, math.floor(d.min_on_s / options.fine_s + 1e-9)),
        max(1, math.floor(d.min_off_s / options.fine_s + 1e-9)),
    )


def _model(
    p: _Problem, on_fixed: NDArray[np.bool_] | None = None, *, min_times: bool = True
) -> _Model:
    """The MILP; with `on_fixed` the car's on/off pattern is fixed by bounds, without
    `min_times` the minimum on/off times are left out."""
    grid, car, config = p.grid, p.car, p.d.battery
    k_all = len(grid.length_s)
    fine = grid.fine
    k_car = len(fine)
    hours = p.hours

    # Variable layout.
    bat = 0  # net battery power, kW (+ charging)
    imp = bat + k_all  # grid import, kW
    soc = imp + k_all  # stored energy above soc_min at interval starts, kWh (k_all + 1)
    on = soc + k_all + 1  # car on (binary), per fine interval
    cur = on + k_car  # whole amperes per phase (integer)
    top = cur + k_car  # at the car's fractional maximum (binary)
    up = top + k_car  # switched on at this interval (0..1, integral at the optimum)
    down = up + k_car  # switched off at this interval
    const = down + k_car  # fixed at 1: the objective offset
    n_var = const + 1

    low = np.zeros(n_var)
    high = np.full(n_var, np.inf)
    cost = np.zeros(n_var)
    integrality = np.zeros(n_var)
    low[bat : bat + k_all] = -config.max_discharge_w / 1000.0
    high[bat : bat + k_all] = np.minimum(config.max_charge_w / 1000.0, grid.pv_kw)
    cost[imp : imp + k_all] = hours
    low[soc : soc + k_all + 1] = p.e_low
    high[soc : soc + k_all + 1] = p.e_high
    low[soc] = high[soc] = p.e0
    cost[soc + k_all] = -1.0
    high[on : on + k_car] = 1.0
    if on_fixed is not None:
        low[on : on + k_car] = high[on : on + k_car] = on_fixed.astype(np.float64)
    integrality[on : on + k_car] = 1
    high[cur : cur + k_car] = car.high_a
    integrality[cur : cur + k_car] = 1 if p.options.integer_current else 0
    high[top : top + k_car] = 1.0 if car.frac_a > 0 else 0.0
    integrality[top : top + k_car] = 1 if p.options.integer_current else 0
    high[up : up + 2 * k_car] = 1.0
    low[const] = high[const] = 1.0
    cost[const] = p.offset

    rows = _Rows()
    for k in range(k_all):
        rows.add([(soc + k + 1, 1.0), (soc + k, -1.0), (bat + k, -hours[k])], 0.0, 0.0)
    fine_pos = {k: j for j, k in enumerate(fine)}
    kw_per_a, frac = car.kw_per_a, car.frac_a
    for k in range(k_all):
        terms = [(imp + k, 1.0), (bat + k, -1.0)]
        j = fine_pos.get(k)
        if j is not None:
            terms += [(cur + j, -kw_per_a), (top + j, -frac * kw_per_a)]
        rows.add(terms, float(grid.house_kw[k] - grid.pv_kw[k]), math.inf)
    energy: list[tuple[int, float]] = []
    for j, k in enumerate(fine):
        rows.add([(cur + j, 1.0), (on + j, -car.low_a)], 0.0, math.inf)
        rows.add([(cur + j, 1.0), (on + j, -car.high_a)], -math.inf, 0.0)
        if car.high_a > 0:
            rows.add([(top + j, 1.0), (on + j, -1.0)], -math.inf, 0.0)
            rows.add([(cur + j, 1.0), (top + j, -car.high_a)], 0.0, math.inf)
        else:
            rows.add([(top + j, 1.0), (on + j, -1.0)], 0.0, 0.0)
        transition = [(on + j, 1.0), (up + j, -1.0), (down + j, 1.0)]
        if j > 0:
            transition.append((on + j - 1, -1.0))
        rows.add(transition, 0.0, 0.0)
        if min_times and p.min_up > 1:
            recent = [(up + i, 1.0) for i in range(max(0, j - p.min_up + 1), j + 1)]
            rows.add([*recent, (on + j, -1.0)], -math.inf, 0.0)
        if min_times and p.min_down > 1:
            recent = [(down + i, 1.0) for i in range(max(0, j - p.min_down + 1), j + 1)]
            rows.add([*recent, (on + j, 1.0)], -math.inf, 1.0)
        energy += [(cur + j, kw_per_a * hours[k]), (top + j, frac * kw_per_a * hours[k])]
    if energy:
        # The car stops when it is full, usually inside an interval: one fine interval at
        # full power on top of the room keeps "exactly full" reachable in whole intervals.
        slack = p.d.car_max_w / 1000.0 * p.options.fine_s / 3600.0
        rows.add(energy, p.car_kwh - 1e-6, p.d.car_room_kwh + slack)
    return _Model(cost, integrality, low, high, rows, cur, top, on)


def _run(model: _Model, *, integral: bool, time_limit_s: float, rel_gap: float) -> Any:
    """`scipy.optimize.milp` on the model (an LP when not `integral`)."""
    optimize: Any = importlib.import_module("scipy.optimize")
    sparse: Any = importlib.import_module("scipy.sparse")
    rows = model.rows
    matrix = sparse.csr_array(
        (rows.vals, (rows.rows, rows.cols)),
        shape=(len(rows.low), len(model.cost)),
        dtype=np.float64,
    )
    return optimize.milp(
        model.cost,
        integrality=model.integrality if integral else np.zeros_like(model.integrality),
        bounds=optimize.Bounds(model.low, model.high),
        constraints=optimize.LinearConstraint(matrix, rows.low, rows.high),
        # HiGHS's MIP presolve took over a second on these models and gained nothing.
        options={
            "time_limit": max(time_limit_s, 0.05),
            "mip_rel_gap": rel_gap,
            "presolve": not integral,
        },
    )


def _amps(model: _Model, p: _Problem, x: Any) -> FloatArray:
    """Car current per fine interval of a solution."""
    values: FloatArray = np.asarray(x, dtype=np.float64)
    k_car = len(p.grid.fine)
    cur = values[model.cur : model.cur + k_car]
    top = values[model.top : model.top + k_car]
    amps: FloatArray = cur + p.car.frac_a * top
    return amps


def _evaluate(p: _Problem, amps: FloatArray) -> float:
    """Objective (kWh) of a car schedule in the relaxed model, greedy battery on the means.

    For a fixed car load, charging with every surplus and discharging against every deficit
    is optimal for a lossless battery with this objective (a kWh stored is worth at most the
    kWh of import it saves later or counts at the end), so this is the model's value.
    """
    grid, config = p.grid, p.d.battery
    car_kw = np.zeros(len(grid.length_s))
    car_kw[list(grid.fine)] = amps * p.car.kw_per_a
    net = grid.house_kw + car_kw - grid.pv_kw
    charge = np.minimum(config.max_charge_w / 1000.0, grid.pv_kw)
    stored = p.e0
    imported = 0.0
    for k, hours in enumerate(p.hours):
        power = min(max(-net[k], -config.max_discharge_w / 1000.0), charge[k])
        power = min(max(power, (p.e_low - stored) / hours), (p.e_high - stored) / hours)
        stored += power * hours
        imported += max(net[k] + power, 0.0) * hours
    return float(imported - stored)


def _repair(on: NDArray[np.bool_], min_up: int, min_down: int) -> NDArray[np.bool_]:
    """Switch intervals on until the minimum on/off times hold as `_model` states them:
    an on-run lasts `min_up` intervals unless the window ends, an off-run between two
    on-runs lasts `min_down` (the off-runs before the first and after the last are free)."""
    on = on.copy()
    n = len(on)
    i = 0
    while i < n:
        if not on[i]:
            i += 1
            continue
        end = i
        while end < n and on[end]:
            end += 1
        if end < n and end - i < min_up:
            on[i : i + min_up] = True  # lengthen the run, then look at it again
            continue
        nxt = end
        while nxt < n and not on[nxt]:
            nxt += 1
        if nxt < n and nxt - end < min_down:
            on[end:nxt] = True  # fill the short gap: one longer run
            continue
        i = nxt
    return on


def _surplus_a(p: _Problem) -> FloatArray:
    """PV − house per fine interval, in amperes per phase of the car."""
    fine = list(p.grid.fine)
    return _f64((p.grid.pv_kw[fine] - p.grid.house_kw[fine]) / p.car.kw_per_a)


def _round(p: _Problem, amps: FloatArray) -> FloatArray:
    """Currents on the car's levels with at least the energy of `amps`.

    Everything is rounded down; the missing energy is made up one level at a time where
    the PV left over after the car is largest (where more current costs the least).
    """
    car = p.car
    on = amps > 1e-6
    if not p.options.integer_current:
        return np.where(on, np.clip(amps, car.min_a, car.max_a), 0.0)
    out = np.array([car.down(a) if o else 0.0 for a, o in zip(amps, on, strict=True)])
    kwh = car.kw_per_a * p.hours[list(p.grid.fine)]
    missing = p.car_kwh - float(np.dot(out, kwh))
    left = _surplus_a(p) - out
    while missing > 1e-9:
        raisable = on & (out < car.max_a - 1e-9)
        if not raisable.any():
            break
        j = int(np.argmax(np.where(raisable, left, -np.inf)))
        raised = car.up(out[j] + 1e-6)
        missing -= (raised - out[j]) * kwh[j]
        left[j] -= raised - out[j]
        out[j] = raised
    return out


def _fill(p: _Problem, on: NDArray[np.bool_]) -> FloatArray | None:
    """Quick currents for an on/off pattern: follow the surplus within the car's range,
    then scale the part above the minimum down, or everything up, to the energy."""
    car = p.car
    kwh = car.kw_per_a * p.hours[list(p.grid.fine)]
    low = np.where(on, car.min_a, 0.0)
    high = np.where(on, car.max_a, 0.0)
    amps: FloatArray = np.clip(_surplus_a(p), low, high)
    energy = float(np.dot(amps, kwh))
    floor = float(np.dot(low, kwh))
    if energy > p.car_kwh and energy > floor:
        share = max(p.car_kwh - floor, 0.0) / (energy - floor)
        amps = low + (amps - low) * share
    elif energy < p.car_kwh:
        room = float(np.dot(high - amps, kwh))
        if energy + room < p.car_kwh - 1e-6:
            return None  # not enough intervals on
        if room > 0:
            amps = amps + (high - amps) * min((p.car_kwh - energy) / room, 1.0)
    return amps


def _patterns(p: _Problem, relaxed: FloatArray) -> list[NDArray[np.bool_]]:
    """On/off patterns to try: the intervals with the most current in the LP relaxation, or
    with the most surplus, as many as various counts suggest (repaired, without repeats)."""
    car = p.car
    n = len(relaxed)
    kwh = car.kw_per_a * p.hours[list(p.grid.fine)]
    at_min = math.ceil(p.car_kwh / max(car.min_a * float(kwh.mean()), 1e-9))
    counts = {
        int((relaxed >= car.min_a - 1e-6).sum()),
        int((relaxed > 0.5 * car.min_a).sum()),
        int((relaxed > 1e-6).sum()),
        at_min,
        (3 * at_min) // 2,
        2 * at_min,
    }
    surplus = _surplus_a(p)
    out: list[NDArray[np.bool_]] = []
    for key in (relaxed + 1e-3 * surplus / max(float(np.abs(surplus).max()), 1.0), surplus):
        order = np.argsort(-key, kind="stable")
        for count in sorted(counts):
            chosen = np.zeros(n, dtype=np.bool_)
            chosen[order[: min(max(count, 0), n)]] = True
            on = _repair(chosen, p.min_up, p.min_down)
            if on.any() and not any(np.array_equal(on, seen) for seen in out):
                out.append(on)
    return out


def _heuristic(
    p: _Problem, relaxed_amps: FloatArray, bound: float, deadline: float
) -> tuple[FloatArray, float] | None:
    """A schedule near the LP relaxation (`_patterns`): every pattern gets quick currents
    (`_fill`); in the order of that score, up to `PATTERNS_LP` of them the LP of their
    currents, rounded to the car's levels (`_round`), until one is within the gap. If the
    best is still more than the gap above `bound`, HiGHS picks the whole amperes for its
    pattern (a small MILP without binaries, ``ROUNDING_S`` at most).
    Returns the best currents found and their objective."""
    car = p.car
    kwh = car.kw_per_a * p.hours[list(p.grid.fine)]
    room = p.d.car_room_kwh + p.d.car_max_w / 1000.0 * p.options.fine_s / 3600.0
    best: tuple[FloatArray, float] | None = None
    if p.car_kwh <= 1e-9:  # the car off all the time is a schedule
        off = np.zeros(len(relaxed_amps))
        best = (off, _evaluate(p, off))
    scored: list[tuple[float, int, NDArray[np.bool_]]] = []
    for i, on in enumerate(_patterns(p, relaxed_amps)):
        if float(np.dot(on, kwh)) * car.min_a > room:
            continue
        amps = _fill(p, on)
        if amps is not None:
            scored.append((_evaluate(p, _round(p, amps)), i, on))
    scored.sort(key=lambda item: (item[0], item[1]))
    best_on: tuple[NDArray[np.bool_], _Model, float] | None = None
    for _, _, on in scored[:PATTERNS_LP]:
        if time.perf_counter() >= deadline or (
            best is not None and best[1] - bound <= p.options.gap_kwh
        ):
            break
        model = _model(p, on)
        result = _run(
            model, integral=False, time_limit_s=deadline - time.perf_counter(), rel_gap=1e-4
        )
        if result.x is None or (best is not None and result.fun - p.offset >= best[1]):
            continue
        amps = _round(p, np.where(on, _amps(model, p, result.x), 0.0))
        value = _evaluate(p, amps)
        if best is None or value < best[1]:
            best = (amps, value)
            best_on = (on, model, float(result.fun) - p.offset)
    if (
        best is not None
        and best_on is not None
        and p.options.integer_current
        and best[1] - bound > p.options.gap_kwh
        and best[1] - best_on[2] > 1e-6  # rounding cost something
        and deadline - time.perf_counter() > 0.1
    ):
        on, model, _ = best_on
        result = _run(
            model,
            integral=True,
            time_limit_s=min(ROUNDING_S, deadline - time.perf_counter()),
            rel_gap=p.options.gap_kwh / max(best[1] + p.offset, 1.0),
        )
        if result.x is not None and float(result.fun) - p.offset < best[1]:
            amps = np.where(on, _amps(model, p, result.x), 0.0)  # (evaluated again below)
            best = (amps, _evaluate(p, amps))
    return best


def optimum(
    d: DayInputs, car_kwh: float, *, options: SolveOptions = DEFAULT_OPTIONS
) -> OptimumPoint:
    """Lower bounds (and best schedule) of import − stored end for a car taking ≥ `car_kwh`.

    1. The LP relaxation without minimum times gives `OptimumPoint.any_controller_kwh`
       and a first bound.
    2. Rounding its schedule (`_heuristic`) gives a schedule and its value.
    3. Only if they are more than `SolveOptions.gap_kwh` apart, HiGHS solves the MILP within
       the rest of the time limit; its dual bound and schedule replace worse ones.
    """
    started = time.perf_counter()

    def infeasible() -> OptimumPoint:
        seconds = time.perf_counter() - started
        return OptimumPoint(car_kwh, math.inf, None, seconds, "infeasible", (), math.inf)

    top = max_car_kwh(d)
    if car_kwh > top + ROUNDING_KWH:
        return infeasible()
    # A little more than the car can take at all (an energy rounded up) is solved at the
    # maximum: no controller delivers more, so any value bounds it.
    p = _problem(d, min(max(car_kwh, 0.0), top), options)
    deadline = started + options.time_limit_s
    relaxed_model = _model(p, min_times=False)
    relaxed = _run(relaxed_model, integral=False, time_limit_s=options.time_limit_s, rel_gap=0)
    if relaxed.status == 2:
        return infeasible()
    if relaxed.x is None:
        return OptimumPoint(car_kwh, -math.inf, None, time.perf_counter() - started, "limit")
    any_controller = float(relaxed.fun) - p.offset if relaxed.status == 0 else -math.inf
    bound = any_controller
    # The heuristic gets at most half of the time, the MILP the rest.
    halfway = started + options.time_limit_s / 2.0
    best = _heuristic(p, _amps(relaxed_model, p, relaxed.x), bound, halfway)
    amps, primal = best if best is not None else (None, None)
    if (primal is None or primal - bound > options.gap_kwh) and (
        deadline - time.perf_counter() > 0.1
    ):
        model = _model(p)
        scale = max((primal if primal is not None else greedy_no_car_kwh(d) + car_kwh), 0.0)
        result = _run(
            model,
            integral=True,
            time_limit_s=deadline - time.perf_counter(),
            rel_gap=options.gap_kwh / max(scale + p.offset, 1.0),
        )
        dual = getattr(result, "mip_dual_bound", None)
        if dual is not None and math.isfinite(float(dual)):
            bound = max(bound, float(dual) - p.offset)
        if result.x is not None and (primal is None or float(result.fun) - p.offset < primal):
            primal = float(result.fun) - p.offset
            amps = _amps(model, p, result.x)
    if primal is not None:
        bound = min(bound, primal)
        any_controller = min(any_controller, bound)
    within = primal is not None and primal - bound <= options.gap_kwh + 1e-9
    car_w = () if amps is None else tuple(float(a) * p.car.kw_per_a * 1000.0 for a in amps)
    seconds = time.perf_counter() - started
    status = "optimal" if within else "limit"
    return OptimumPoint(car_kwh, bound, primal, seconds, status, car_w, any_controller)


def optimum_curve(
    d: DayInputs,
    energies_kwh: Sequence[float],
    *,
    options: SolveOptions = DEFAULT_OPTIONS,
    cache: OptimumCache | None = None,
) -> list[OptimumPoint]:
    """`optimum` for each energy (results in the given order), made monotone.

    The optimum is nondecreasing in E, so a bound found for a smaller E also bounds a larger
    one, and a schedule found for a larger E is feasible for a smaller one: bounds are
    raised to the running maximum from below, schedules replaced by better ones from above.
    Nothing is re-solved; the cache holds the points as solved.
    """
    points = [
        cache.get_or_solve(d, e, options) if cache is not None else optimum(d, e, options=options)
        for e in energies_kwh
    ]
    order = sorted(range(len(points)), key=lambda i: points[i].car_kwh)
    bound = any_bound = -math.inf
    for i in order:
        bound = max(bound, points[i].objective_kwh)
        any_bound = max(any_bound, points[i].any_controller_kwh)
        points[i] = replace(points[i], objective_kwh=bound, any_controller_kwh=any_bound)
    best: OptimumPoint | None = None
    for i in reversed(order):
        point = points[i]
        if point.primal_kwh is not None and (
            best is None or best.primal_kwh is None or point.primal_kwh <= best.primal_kwh
        ):
            best = point
        if best is not None and best is not point:
            point = replace(point, primal_kwh=best.primal_kwh, car_w=best.car_w)
        if point.primal_kwh is not None:
            within = point.primal_kwh - point.objective_kwh <= options.gap_kwh + 1e-9
            point = replace(
                point,
                objective_kwh=min(point.objective_kwh, point.primal_kwh),
                any_controller_kwh=min(point.any_controller_kwh, point.primal_kwh),
                status="optimal" if within else "limit",
            )
        points[i] = point
    return points


def car_w_per_second(d: DayInputs, point: OptimumPoint, options: SolveOptions) -> list[float]:
    """The car power of `point`'s schedule for every sample of `d` (0 outside the window)."""
    out = [0.0] * len(d.pv_w)
    first, end = d.window
    for j, power in enumerate(point.car_w):
        start = first + j * options.fine_s
        stop = min(start + options.fine_s, end)
        out[start:stop] = [power] * (stop - start)
    return out


# -- Cache ---------------------------------------------------------------------------


def _rounded(values: Sequence[float]) -> bytes:
    """Array bytes at 0.1 W resolution (independent of float noise)."""
    return np.round(np.asarray(values, dtype=np.float64) * 10.0).astype("<i8").tobytes()


def cache_key(d: DayInputs, car_kwh: float, options: SolveOptions = DEFAULT_OPTIONS) -> str:
    """sha256 of the inputs (arrays at 0.1 W), the energy, the options and `VERSION`."""
    digest = hashlib.sha256()
    digest.update(_rounded(d.pv_w))
    digest.update(b"|")
    digest.update(_rounded(d.house_w))
    scalars = {
        "version": VERSION,
        "t0_s": d.t0_s,
        "battery": asdict(d.battery),
        "soc_pct": round(d.soc_pct, 6),
        "arrive_s": d.arrive_s,
        "leave_s": d.leave_s,
        "phases": d.phases,
        "max_current_a": d.max_current_a,
        "car_room_kwh": round(d.car_room_kwh, 6),
        "min_on_s": d.min_on_s,
        "min_off_s": d.min_off_s,
        "min_current_a": d.min_current_a,
        "car_kwh": round(car_kwh, 6),
        "options": asdict(options),
    }
    digest.update(json.dumps(scalars, sort_keys=True).encode())
    return digest.hexdigest()


class OptimumCache:
    """Solved points in a JSON file, keyed by `cache_key`.

    Every write merges with what is on disk and replaces the file atomically, so parallel
    bench workers at worst solve a point twice; an unreadable file counts as empty.
    """

    def __init__(self, path: Path) -> None:
        """Use (and create on the first write) the JSON file at `path`."""
        self.path = path
        self._entries: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return {}
        entries = data.get("points")
        return dict(entries) if isinstance(entries, dict) else {}

    def __len__(self) -> int:
        """Number of cached points."""
        return len(self._entries)

    def get(self, d: DayInputs, car_kwh: float, options: SolveOptions) -> OptimumPoint | None:
        """The cached point, or None."""
        entry = self._entries.get(cache_key(d, car_kwh, options))
        if not isinstance(entry, dict):
            return None
        try:
            primal = entry["primal_kwh"]
            return OptimumPoint(
                float(entry["car_kwh"]),
                float(entry["objective_kwh"]),
                None if primal is None else float(primal),
                float(entry["seconds"]),
                str(entry["status"]),
                tuple(float(v) for v in entry["car_w"]),
                float(entry["any_controller_kwh"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, d: DayInputs, car_kwh: float, point: OptimumPoint, options: SolveOptions) -> None:
        """Store `point` (solved for `car_kwh`) and write the file."""
        entry = {
            "car_kwh": point.car_kwh,
            "objective_kwh": point.objective_kwh,  # inf is written as Infinity
            "primal_kwh": point.primal_kwh,
            "seconds": round(point.seconds, 3),
            "status": point.status,
            "car_w": [round(w, 1) for w in point.car_w],
            "any_controller_kwh": point.any_controller_kwh,
        }
        self._entries = {**self._load(), **self._entries, cache_key(d, car_kwh, options): entry}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": VERSION, "points": self._entries}, handle)
        Path(tmp).replace(self.path)

    def get_or_solve(
        self, d: DayInputs, car_kwh: float, options: SolveOptions = DEFAULT_OPTIONS
    ) -> OptimumPoint:
        """The cached point, or `optimum`'s, stored before it is returned."""
        point = self.get(d, car_kwh, options)
        if point is None:
            point = optimum(d, car_kwh, options=options)
            self.put(d, car_kwh, point, options)
        return point
