"""Tests of bench/plans.py: prices, forecast errors, evcc's slot choice, one short plan day."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("numpy")
if importlib.util.find_spec("scipy") is None:
    pytest.skip("scipy not installed (requirements_bench)", allow_module_level=True)

from bench import plans
from bench.plans import (
    DAYS,
    HOUR,
    MAX_POWER,
    PlanDay,
    evcc_slots,
    forecast_errors,
    known_prices,
    plan_demand,
    price_curve,
    run_plan_day,
)
from bench.strategies import DAY0
from custom_components.solar_wallbox.charging.model import Reason
from custom_components.solar_wallbox.charging.planner import PlanRequest, PriceSlot, make_plan


def test_price_curve_is_deterministic_per_seed_and_shaped() -> None:
    a = price_curve(3, 2, [1.0, 0.0])
    assert a == price_curve(3, 2, [1.0, 0.0])
    assert a != price_curve(4, 2, [1.0, 0.0])
    assert len(a) == 48
    assert all(0.15 <= p <= 0.45 for p in a)
    night, evening = a[3], a[19]
    assert night < evening
    # The midday dip is deeper on the sunny day (day 0) than on the dull one (day 1).
    assert a[13] < a[24 + 13]


def test_forecast_errors_are_deterministic_per_seed() -> None:
    assert forecast_errors(1, 30) == forecast_errors(1, 30)
    assert forecast_errors(1, 30) != forecast_errors(2, 30)
    assert len(forecast_errors(5, 61)) == 61


def test_prices_are_known_only_from_their_publication() -> None:
    prices = [0.2] * 72
    before = known_prices(prices, 12 * HOUR, 3 * 86400)
    after = known_prices(prices, 13 * HOUR, 3 * 86400)
    assert (before[-1].end - DAY0) == timedelta(days=1)
    assert (after[-1].end - DAY0) == timedelta(days=2)


def test_evcc_picks_the_cheapest_slots() -> None:
    hourly = [0.30, 0.20, 0.35, 0.10, 0.25, 0.40]
    prices = tuple(
        PriceSlot(DAY0 + timedelta(hours=h), DAY0 + timedelta(hours=h + 1), p)
        for h, p in enumerate(hourly)
    )
    # 1.5 h at full power: the 03:00 hour (0.10) and the later half of the 01:00 hour
    # (0.20; ties: the later slot).
    chosen = evcc_slots(0.0, 6 * HOUR, 1.5 * MAX_POWER, prices, MAX_POWER)
    quarters = [(3 * HOUR + q * 900.0, 3 * HOUR + (q + 1) * 900.0) for q in range(4)]
    assert chosen == [(5400.0, 6300.0), (6300.0, 7200.0), *quarters]
    # From 00:40 to 03:10: the departure cuts the 03:00 hour to 10 min, the rest from the
    # later half of the 01:00 hour.
    late = evcc_slots(2400.0, 3 * HOUR + 600.0, 0.5 * MAX_POWER, prices, MAX_POWER)
    assert late == [(5400.0, 6300.0), (6300.0, 7200.0), (3 * HOUR, 3 * HOUR + 600.0)]
    assert evcc_slots(0.0, 6 * HOUR, 0.0, prices, MAX_POWER) == []


def test_plan_demand_mirrors_the_manager() -> None:
    now = DAY0 + timedelta(hours=10)
    departure = now + timedelta(hours=4)
    prices = (PriceSlot(now, departure, 0.3),)
    plan = make_plan(PlanRequest(now, departure, 10_000.0, MAX_POWER, 4140.0, prices=prices))
    # Flat prices: the plan reserves the last hour (ties: the later slot). At 13:30, with
    # 2 kWh left, full power is not yet needed: the reserved power.
    at = departure - timedelta(minutes=30)
    demand = plan_demand(plan, 2000.0, MAX_POWER, at, departure)
    assert demand is not None
    assert demand.reason is Reason.PLAN_GRID
    assert demand.power == plan.grid_power_at(at) > 0
    # 42 kWh need 3.8 h at full power, 23 min of slack on top: more than the 4 h left.
    catch_up = plan_demand(plan, 42_000.0, MAX_POWER, now, departure)
    assert catch_up is not None
    assert catch_up.reason is Reason.PLAN_CATCH_UP
    assert catch_up.power == MAX_POWER
    assert plan_demand(plan, 10_000.0, MAX_POWER, now, departure) is None  # no slot now


SHORT = PlanDay(
    "short",
    "10:00 → 14:00, some sun",
    10 * HOUR,
    14 * HOUR,
    DAYS["day"].pv,
    soc_pct=30.0,
    target_soc_pct=50.0,
    battery_soc_pct=30.0,
)


def test_a_short_plan_day_meets_its_target_and_the_optimum_bounds_it() -> None:
    outcome = run_plan_day(SHORT, 1)
    runs = {r.strategy: r for r in outcome.runs}
    assert set(runs) == set(plans.STRATEGIES)
    assert runs["ours+plan"].met
    assert runs["ours+plan"].car_kwh == pytest.approx(SHORT.need_wh / 1000.0, abs=0.05)
    optimum = outcome.optimum
    assert optimum is not None
    for run in runs.values():
        assert optimum.cost_eur <= run.cost_eur + 1e-6, run
        assert run.gap_eur == pytest.approx(run.cost_eur - optimum.cost_eur)


def test_an_impossible_target_has_no_optimum() -> None:
    day = replace(SHORT, depart_s=SHORT.arrive_s + HOUR)  # 13 kWh in 1 h at 11 kW
    data = plans.day_data(day, 1)
    assert plans.optimum_cost(data, day.need_wh) is None


def test_cli_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plans.md"
    assert plans.main(["--seeds", "1", "--days", "night", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| night | 1 | ours+plan | yes |" in text
    assert "optimum (LP bound)" in text
    assert "| night | ours+plan | 1/1 |" in capsys.readouterr().out
    assert plans.main(["--days", "nowhere", "--output", str(out)]) == 2
