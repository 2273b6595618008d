"""Tests of bench/optimum.py: hand-made days with known optima, bounds, schedules, cache.

The solver tests need scipy (requirements_bench.txt) and are skipped without it; B1, the
greedy battery and the cache keys need numpy only.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("numpy")

from bench import optimum as opt
from bench.optimum import (
    DayInputs,
    OptimumCache,
    OptimumPoint,
    SolveOptions,
    b1_kwh,
    cache_key,
    car_w_per_second,
    greedy_no_car_kwh,
    max_car_kwh,
    optimum,
    optimum_curve,
)
from bench.scenarios import BUILTIN, HOUR
from simulator.model import BatteryConfig, SiteModel

needs_scipy = pytest.mark.skipif(
    importlib.util.find_spec("scipy") is None, reason="scipy not installed (requirements_bench)"
)

SIX_A_3P_W = 6 * 230.0 * 3  # 4140 W
PER_AMP_MINUTE_KWH = 230.0 * 3 / 1000.0 / 60.0  # 1 A for one 60 s interval, 3 phases
NO_BATTERY = BatteryConfig(max_charge_w=0.0, max_discharge_w=0.0)
TOL = 1e-5  # the energy row allows 1e-6 kWh less (float noise)


def window_day(
    surplus_w: list[float],
    *,
    house_w: float = 500.0,
    before_s: int = 600,
    after_s: int = 600,
    battery: BatteryConfig = NO_BATTERY,
    soc_pct: float = 5.0,
    **car: float,
) -> DayInputs:
    """A day with the car plugged in exactly while `surplus_w` (per second) lasts (the
    window includes the second that starts at `leave_s`); PV equals the house before and
    after, so nothing is imported or exported there."""
    pv = [house_w] * before_s + [house_w + s for s in surplus_w] + [house_w] * after_s
    values: dict[str, float] = {
        "phases": 3,
        "max_current_a": 16.0,
        "car_room_kwh": 100.0,
        "min_on_s": 120.0,
        "min_off_s": 120.0,
        "min_current_a": 6.0,
    }
    values.update(car)
    return DayInputs(
        t0_s=0,
        pv_w=pv,
        house_w=[house_w] * len(pv),
        battery=battery,
        soc_pct=soc_pct,
        arrive_s=float(before_s),
        leave_s=float(before_s + len(surplus_w) - 1),  # its second included: the window
        phases=int(values["phases"]),
        max_current_a=values["max_current_a"],
        car_room_kwh=values["car_room_kwh"],
        min_on_s=values["min_on_s"],
        min_off_s=values["min_off_s"],
        min_current_a=values["min_current_a"],
    )


def minutes(*watts: float) -> list[float]:
    """Per-second surplus, one value per minute."""
    return [w for w in watts for _ in range(60)]


# -- B1, maximum, greedy battery (numpy only) -------------------------------------------


def test_b1_per_second_clipped_and_capped() -> None:
    surplus = [2000.0] * 100 + [20000.0] * 50 + [-3000.0] * 50
    d = window_day(surplus)
    assert b1_kwh(d) == pytest.approx((2000 * 100 + 11040 * 50) / 3.6e6)
    one_phase = replace(d, phases=1)
    assert b1_kwh(one_phase) == pytest.approx((2000 * 100 + 3680 * 50) / 3.6e6)
    assert b1_kwh(replace(d, car_room_kwh=0.05)) == pytest.approx(0.05)
    # Only the plug-in window counts.
    assert b1_kwh(replace(d, arrive_s=700.0)) == pytest.approx(11040 * 50 / 3.6e6)


def test_max_car_kwh() -> None:
    d = window_day([0.0] * 600)
    assert max_car_kwh(d) == pytest.approx(11040 * 600 / 3.6e6)
    assert max_car_kwh(replace(d, max_current_a=10.0, phases=1)) == pytest.approx(
        2300 * 600 / 3.6e6
    )
    assert max_car_kwh(replace(d, car_room_kwh=1.0)) == 1.0


def test_greedy_no_car_by_hand() -> None:
    battery = BatteryConfig()  # 10 kWh, 3 kW, soc 5..100 %
    base = DayInputs(0, [0.0] * 3600, [1000.0] * 3600, battery, 55.0, 0.0, 0.0, 3, 16.0, 0.0)
    # 1 kW for an hour from 5 kWh stored: no import, 4 kWh left.
    assert greedy_no_car_kwh(base) == pytest.approx(-4.0)
    # 4 kW: the battery gives its 3 kW, 1 kWh is imported, 2 kWh left.
    assert greedy_no_car_kwh(replace(base, house_w=[4000.0] * 3600)) == pytest.approx(-1.0)
    # Surplus charges it up to soc_max, the rest is exported (not counted).
    sunny = replace(base, pv_w=[4000.0] * 3600, house_w=[0.0] * 3600, soc_pct=90.0)
    assert greedy_no_car_kwh(sunny) == pytest.approx(-9.5)


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="same length"):
        DayInputs(0, [0.0], [0.0, 0.0], NO_BATTERY, 5.0, 0.0, 1.0, 3, 16.0, 1.0)
    with pytest.raises(ValueError, match="1 or 3"):
        DayInputs(0, [0.0], [0.0], NO_BATTERY, 5.0, 0.0, 1.0, 2, 16.0, 1.0)
    with pytest.raises(ValueError, match="arrival"):
        DayInputs(0, [0.0], [0.0], NO_BATTERY, 5.0, 1.0, 0.0, 3, 16.0, 1.0)


# -- Hand-made optima ----------------------------------------------------------------


@needs_scipy
def test_exact_surplus_is_free_and_more_costs_exactly_the_extra() -> None:
    d = window_day([SIX_A_3P_W] * 600)  # ten minutes of exactly 6 A × 230 V × 3
    free = optimum(d, 0.69)
    assert free.status == "optimal"
    assert free.objective_kwh == pytest.approx(0.0, abs=TOL)
    assert free.primal_kwh == pytest.approx(0.0, abs=TOL)
    assert free.any_controller_kwh == pytest.approx(0.0, abs=TOL)
    # Six more ampere-minutes: exactly that energy is imported.
    more = optimum(d, 0.69 + 6 * PER_AMP_MINUTE_KWH)
    assert more.objective_kwh == pytest.approx(6 * PER_AMP_MINUTE_KWH, abs=TOL)
    # 10 Wh more needs one more ampere-minute (11.5 Wh) in whole amperes ...
    exact = SolveOptions(gap_kwh=1e-6)
    whole = optimum(d, 0.70, options=exact)
    assert whole.objective_kwh == pytest.approx(PER_AMP_MINUTE_KWH, abs=TOL)
    assert whole.primal_kwh == pytest.approx(PER_AMP_MINUTE_KWH, abs=TOL)
    # ... exactly 10 Wh without that restriction, and for any controller.
    assert whole.any_controller_kwh == pytest.approx(0.01, abs=TOL)
    real = optimum(d, 0.70, options=replace(exact, integer_current=False))
    assert real.objective_kwh == pytest.approx(0.01, abs=TOL)
    # With the default gap (10 Wh) the heuristic's 11.5 Wh is good enough.
    default = optimum(d, 0.70)
    assert default.status == "optimal"
    assert default.primal_kwh is not None
    assert default.objective_kwh <= default.primal_kwh <= default.objective_kwh + 0.01
    # Full power all the time: everything above the surplus is imported.
    top = max_car_kwh(d)
    assert optimum(d, top).objective_kwh == pytest.approx(top - 0.69, abs=TOL)
    rounded_up = optimum(d, top + 0.001)  # e.g. an energy rounded to Wh
    assert rounded_up.car_kwh == top + 0.001
    assert rounded_up.objective_kwh == pytest.approx(top - 0.69, abs=TOL)
    impossible = optimum(d, top + 0.01)
    assert impossible.status == "infeasible"
    assert impossible.objective_kwh == math.inf
    assert impossible.primal_kwh is None


@needs_scipy
@pytest.mark.parametrize(
    ("min_on_s", "min_off_s", "expected"),
    [(60.0, 60.0, 0.0), (120.0, 60.0, 6 * PER_AMP_MINUTE_KWH), (60.0, 120.0, 0.069)],
)
def test_minimum_on_and_off_times(min_on_s: float, min_off_s: float, expected: float) -> None:
    """6 A of surplus in minutes 0 and 2 of five, 2 × 6 A-minutes wanted: free with
    one-minute runs; with two-minute runs or gaps one minute at 6 A is imported."""
    d = window_day(minutes(SIX_A_3P_W, 0, SIX_A_3P_W, 0, 0), min_on_s=min_on_s, min_off_s=min_off_s)
    point = optimum(d, 2 * 6 * PER_AMP_MINUTE_KWH)
    assert point.objective_kwh == pytest.approx(expected, abs=TOL)
    assert point.primal_kwh == pytest.approx(expected, abs=1e-4)
    # Without minimum times and whole amperes the answer is 0 for any controller.
    assert point.any_controller_kwh == pytest.approx(0.0, abs=TOL)


@needs_scipy
def test_battery_shifts_surplus_to_the_car_losslessly() -> None:
    """Ten minutes of 3 kW surplus, then ten without: whatever the car does, as long as
    nothing is exported the lossless battery makes import − stored end exactly the car
    energy minus the surplus (0.69 − 0.5 kWh); without a car it is −0.5 kWh."""
    battery = BatteryConfig(capacity_wh=10000.0, max_charge_w=3000.0, max_discharge_w=5000.0)
    d = window_day(minutes(*[3000.0] * 10, *[0.0] * 10), battery=battery, soc_pct=5.0)
    point = optimum(d, 0.69)
    assert point.objective_kwh == pytest.approx(0.69 - 0.5, abs=TOL)
    assert point.primal_kwh == pytest.approx(0.69 - 0.5, abs=TOL)
    assert optimum(d, 0.0).objective_kwh == pytest.approx(-0.5, abs=TOL)
    assert greedy_no_car_kwh(d) == pytest.approx(-0.5)


@needs_scipy
@pytest.mark.parametrize(("max_current_a", "level_a"), [(13.5, 13.5), (4.0, 4.0)])
def test_car_maximum_not_a_whole_ampere_or_below_six(max_current_a: float, level_a: float) -> None:
    """At any offer ≥ 6 A such a car draws min(offer, its maximum): it can draw exactly its
    maximum the whole window."""
    d = window_day([20000.0] * 300, max_current_a=max_current_a)
    energy = max_car_kwh(d)
    assert energy == pytest.approx(level_a * 690 * 300 / 3.6e6)
    point = optimum(d, energy)
    assert point.objective_kwh == pytest.approx(0.0, abs=TOL)
    assert point.car_w == pytest.approx([level_a * 690.0] * 5)


@needs_scipy
def test_car_with_a_minimum_current_of_its_own() -> None:
    """A car that refuses offers below 10 A: 6 A of surplus for 5 minutes, 5 × 6 A-minutes
    wanted: at least 10 A for 3 minutes, 4 A of it imported (for any controller: free)."""
    d = window_day([SIX_A_3P_W] * 300, min_current_a=9.5, min_on_s=60.0, min_off_s=60.0)
    assert d.lowest_offer_a == 10.0
    point = optimum(d, 5 * 6 * PER_AMP_MINUTE_KWH, options=SolveOptions(gap_kwh=1e-6))
    assert point.objective_kwh == pytest.approx(3 * 4 * PER_AMP_MINUTE_KWH, abs=TOL)
    assert point.any_controller_kwh == pytest.approx(0.0, abs=TOL)
    assert all(w == 0 or w >= 10 * 690.0 - 1e-6 for w in point.car_w)
    refusing = replace(d, min_current_a=17.0)
    assert max_car_kwh(refusing) == 0.0
    assert b1_kwh(refusing) == 0.0
    assert optimum(refusing, 0.1).status == "infeasible"


# -- A simulated day -----------------------------------------------------------------

START = 9.5 * HOUR
SCENARIO = BUILTIN["fast_clouds"]


@pytest.fixture(scope="module")
def cloudy() -> DayInputs:
    """Four hours of the fast-clouds day, the car plugged in from 10:00 to 13:00."""
    model = SiteModel(
        SCENARIO.pv, SCENARIO.house, SCENARIO.battery, seed=SCENARIO.seed, start_s=START
    )
    pv: list[float] = []
    house: list[float] = []
    for _ in range(int(4 * HOUR)):
        model.step(1.0)
        pv.append(model.pv_w)
        house.append(model.household_w)
    return DayInputs(
        int(START), pv, house, SCENARIO.battery, 50.0, 10 * HOUR, 13 * HOUR, 3, 16.0, 60.0
    )


def simulate(d: DayInputs, car_w: list[float]) -> float:
    """Import − stored end of the real site model (with its battery lag) for this load."""
    model = SiteModel(
        SCENARIO.pv, SCENARIO.house, SCENARIO.battery, seed=SCENARIO.seed, start_s=START
    )
    for power in car_w:
        model.loads["wallbox"] = power
        model.step(1.0)
    battery = d.battery
    stored_wh = (model.soc_pct - battery.soc_min_pct) / 100.0 * battery.capacity_wh
    return (model.energy.grid_import_wh - stored_wh) / 1000.0


@needs_scipy
def test_cloudy_day_bounds_are_consistent(cloudy: DayInputs) -> None:
    energies = [0.0, 5.0, 10.0, 20.0, 30.0]
    points = optimum_curve(cloudy, energies)
    assert [p.car_kwh for p in points] == energies
    bounds = [p.objective_kwh for p in points]
    assert bounds == sorted(bounds)
    assert [p.any_controller_kwh for p in points] == sorted(p.any_controller_kwh for p in points)
    assert bounds[0] <= greedy_no_car_kwh(cloudy) + TOL
    for point in points:
        assert point.primal_kwh is not None
        assert point.any_controller_kwh <= point.objective_kwh <= point.primal_kwh
        assert point.seconds < 5.0
    # Single solves agree with the curve up to the gap.
    single = optimum(cloudy, 10.0)
    assert single.objective_kwh == pytest.approx(points[2].objective_kwh, abs=0.011)


@needs_scipy
def test_cloudy_day_schedule_is_valid_and_the_simulation_costs_more(cloudy: DayInputs) -> None:
    """The schedule uses the charger's levels, keeps the minimum times and delivers the
    energy; the real site model (per second, battery lag) imports at least the primal."""
    options = SolveOptions()
    point = optimum(cloudy, 12.0, options=options)
    assert point.primal_kwh is not None
    levels = {0.0} | {a * 690.0 for a in range(6, 17)}
    assert all(min(abs(w - level) for level in levels) < 1e-6 for w in point.car_w)
    on = [w > 0 for w in point.car_w]
    runs: list[tuple[bool, int]] = []
    for value in on:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    for i, (value, length) in enumerate(runs[:-1]):  # the last run may be cut by departure
        assert length >= 2 or (not value and i == 0), runs
    car = car_w_per_second(cloudy, point, options)
    assert sum(car) / 3.6e6 >= 12.0 - TOL
    assert simulate(cloudy, car) >= point.primal_kwh - TOL


# -- Cache ---------------------------------------------------------------------------


def test_cache_key_rounds_the_arrays_and_sees_every_input() -> None:
    d = window_day([SIX_A_3P_W] * 120)
    key = cache_key(d, 0.1)
    noisy = replace(d, pv_w=[p + 0.01 for p in d.pv_w])
    assert cache_key(noisy, 0.1) == key
    assert cache_key(replace(d, pv_w=[p + 1.0 for p in d.pv_w]), 0.1) != key
    assert cache_key(d, 0.2) != key
    assert cache_key(d, 0.1, SolveOptions(fine_s=120)) != key
    assert cache_key(replace(d, soc_pct=6.0), 0.1) != key
    assert cache_key(replace(d, min_on_s=60.0), 0.1) != key


def test_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = window_day([SIX_A_3P_W] * 120)
    options = SolveOptions()
    solved = OptimumPoint(0.1, 0.25, 0.26, 0.5, "limit", (0.0, 4140.0), 0.2)
    calls: list[float] = []

    def fake_optimum(d: DayInputs, car_kwh: float, *, options: SolveOptions) -> OptimumPoint:
        calls.append(car_kwh)
        return solved

    monkeypatch.setattr(opt, "optimum", fake_optimum)
    path = tmp_path / "cache" / "optimum.json"
    cache = OptimumCache(path)
    assert cache.get_or_solve(d, 0.1, options) == solved
    assert cache.get_or_solve(d, 0.1, options) == solved
    assert calls == [0.1]
    again = OptimumCache(path).get(d, 0.1, options)
    assert again == solved
    assert again is not None
    assert again.car_w == solved.car_w
    assert again.any_controller_kwh == 0.2
    # Another instance writing meanwhile is kept (merged), infinity survives JSON.
    other = OptimumCache(path)
    impossible = OptimumPoint(9.0, math.inf, None, 0.0, "infeasible", (), math.inf)
    other.put(d, 9.0, impossible, options)
    cache.put(d, 0.3, solved, options)
    fresh = OptimumCache(path)
    assert len(fresh) == 3
    assert fresh.get(d, 9.0, options) == impossible
    # A damaged file or one of another version counts as empty.
    path.write_text("{not json", encoding="utf-8")
    assert len(OptimumCache(path)) == 0
    path.write_text(json.dumps({"version": -1, "points": {}}), encoding="utf-8")
    assert len(OptimumCache(path)) == 0
