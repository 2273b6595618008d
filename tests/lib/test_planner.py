"""The departure planner (charging/planner.py) and the controller's demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.solar_wallbox.charging.controller import SurplusController
from custom_components.solar_wallbox.charging.model import (
    ChargeMode,
    Demand,
    Reason,
    Settings,
    SiteInput,
    WallboxInput,
)
from custom_components.solar_wallbox.charging.planner import (
    MARGIN_FAR,
    ForecastSlot,
    PlanRequest,
    PriceSlot,
    energy_needed,
    feasible,
    make_plan,
    margin_at,
    must_charge_now,
    plan_demand,
)

T0 = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)
MAX_W = 11040.0  # 16 A × 230 V × 3
MIN_W = 4140.0  # 6 A


def _hourly_prices(start: datetime, values: list[float]) -> tuple[PriceSlot, ...]:
    return tuple(PriceSlot(start + i * H, start + (i + 1) * H, v) for i, v in enumerate(values))


def _request(**changes: object) -> PlanRequest:
    base = PlanRequest(
        now=T0, departure=T0 + 13 * H, need_wh=20000.0, max_power=MAX_W, min_power=MIN_W
    )
    return _with(base, **changes)


def test_nothing_needed() -> None:
    plan = make_plan(_request(need_wh=0.0))
    assert plan.feasible
    assert plan.grid_wh == 0
    assert plan.slots == ()
    assert plan.finish_at == T0


def test_the_cheapest_hours_are_reserved() -> None:
    """18:00 → 07:00, no sun: 20 kWh in the two cheapest hours (11.04 kWh each)."""
    prices = [0.40, 0.38, 0.35, 0.30, 0.25, 0.22, 0.20, 0.19, 0.18, 0.21, 0.26, 0.31, 0.36]
    plan = make_plan(_request(prices=_hourly_prices(T0, prices)))
    assert plan.feasible
    assert plan.grid_wh == pytest.approx(20000.0)
    assert plan.solar_wh == 0
    hours = {slot.start.hour for slot in plan.slots if slot.grid_w > 0}
    assert hours == {2, 1}  # 0.18 and 0.19: 02:00 full, 01:00 for the rest
    energy_02 = sum(s.grid_w * s.hours for s in plan.slots if s.start.hour == 2)
    assert energy_02 == pytest.approx(MAX_W)
    assert plan.cost == pytest.approx(MAX_W / 1000 * 0.18 + (20000 - MAX_W) / 1000 * 0.19)
    assert plan.next_grid_slot(T0) == T0.replace(hour=1) + timedelta(days=1)
    assert plan.finish_at is not None
    assert plan.finish_at.hour == 3
    # The reserved power applies inside the slot, none outside.
    assert plan.grid_power_at(T0 + 8 * H + timedelta(minutes=5)) == pytest.approx(MAX_W)
    assert plan.grid_power_at(T0 + H) == 0.0


def test_ties_take_the_later_slot() -> None:
    plan = make_plan(_request(fixed_price=0.3, need_wh=MAX_W))  # one hour at full power
    reserved = [slot for slot in plan.slots if slot.grid_w > 0]
    assert reserved[0].start == T0 + 12 * H  # the last hour before 07:00
    assert reserved[-1].end == T0 + 13 * H
    assert all(slot.price == 0.3 and not slot.price_estimated for slot in plan.slots)


def test_sun_first_and_the_margin() -> None:
    """09:00 → 17:00 with 8 kW of PV at midday: the sun is counted with the margin, the
    rest comes from the grid; nearer the deadline, less of the spread is trusted."""
    start = T0.replace(hour=9)
    forecast = tuple(
        ForecastSlot(start + i * H, start + (i + 1) * H, 8000.0 if 2 <= i <= 5 else 1000.0)
        for i in range(8)
    )
    req = _request(now=start, departure=start + 8 * H, forecast=forecast, fixed_price=0.3)
    plan = make_plan(req)
    assert plan.feasible
    # 4 h × (8000 − 400) W, counted at p50 − k × (p50 − p10), p10 = half of p50.
    k = margin_at(start, start + 8 * H)
    surplus = 8000.0 - 400.0
    low = 4000.0 - 400.0
    counted = 4 * (surplus - k * (surplus - low))
    assert plan.solar_wh == pytest.approx(min(counted, 20000.0))
    assert plan.grid_wh == pytest.approx(20000.0 - plan.solar_wh)
    assert all(s.solar_w + s.grid_w <= MAX_W + 1e-6 for s in plan.slots)
    # A forecast's own p10 replaces the default spread.
    sure = tuple(ForecastSlot(f.start, f.end, f.pv_w, f.pv_w) for f in forecast)
    assert make_plan(_with(req, forecast=sure)).solar_wh >= plan.solar_wh
    # Later (same slots ahead, less time left): k grows, less sun is counted.
    assert margin_at(start, start + 30 * H) == MARGIN_FAR
    assert margin_at(start, start) == 1.0
    assert margin_at(start, start + 2 * H) > margin_at(start, start + 8 * H)


def _with(req: PlanRequest, **changes: object) -> PlanRequest:
    values = {f: getattr(req, f) for f in req.__dataclass_fields__}
    return PlanRequest(**{**values, **changes})  # type: ignore[arg-type]


def test_measured_pv_below_the_forecast_scales_it_down() -> None:
    """Half the forecast PV measured over the last 30 min: the coming hours count about
    half as much sun (fading out over CORRECTION_FADE); more than forecast: unchanged."""
    start = T0.replace(hour=11)
    forecast = tuple(
        ForecastSlot(start + (i - 1) * H, start + i * H, 8000.0, 8000.0) for i in range(7)
    )
    req = _request(now=start, departure=start + 6 * H, forecast=forecast, need_wh=80000.0)
    trusted = make_plan(req).solar_wh
    window = (start - timedelta(minutes=30), start)
    dim = make_plan(_with(req, pv_measured=(*window, 4000.0))).solar_wh
    bright = make_plan(_with(req, pv_measured=(*window, 12000.0))).solar_wh
    assert bright == pytest.approx(trusted)
    assert 0.5 * trusted < dim < 0.85 * trusted
    # A forecast below CORRECTION_MIN_W for the window is not compared.
    night = (start - 8 * H, start - 7 * H + timedelta(minutes=30))
    assert make_plan(_with(req, pv_measured=(*night, 0.0))).solar_wh == pytest.approx(trusted)


def test_surplus_below_the_minimum_counts_as_none() -> None:
    forecast = (ForecastSlot(T0, T0 + 13 * H, MIN_W - 100.0, MIN_W - 100.0),)
    plan = make_plan(_request(forecast=forecast, house_w=0.0))
    assert plan.solar_wh == 0


def test_impossible_reserves_everything() -> None:
    plan = make_plan(_request(departure=T0 + H, need_wh=2 * MAX_W))
    assert not plan.feasible
    assert plan.grid_wh == pytest.approx(MAX_W)
    assert plan.finish_at is None
    assert not feasible(2 * MAX_W, MAX_W, T0, T0 + H)
    assert feasible(MAX_W, MAX_W, T0, T0 + H)


def test_must_charge_now() -> None:
    # 11.04 kWh at 11.04 kW is one hour; the slack is 10 minutes (or 10 % of that hour).
    departure = T0 + H + timedelta(minutes=20)
    assert not must_charge_now(MAX_W, MAX_W, T0, departure)
    assert must_charge_now(MAX_W, MAX_W, T0 + timedelta(minutes=11), departure)
    assert not must_charge_now(0.0, MAX_W, T0, T0)
    assert must_charge_now(1.0, 0.0, T0, departure)


def test_catch_up_holds_until_twice_the_slack_is_left() -> None:
    """Once catching up, a need that drops a little (a SoC step) does not end it."""
    departure = T0 + H + timedelta(minutes=10)  # one hour at full power + the slack
    assert must_charge_now(MAX_W, MAX_W, T0, departure)
    later = T0 + timedelta(minutes=5)
    less = MAX_W * 0.85  # 51 min at full power are left, 65 min of time
    assert not must_charge_now(less, MAX_W, later, departure)
    assert must_charge_now(less, MAX_W, later, departure, catching_up=True)
    assert not must_charge_now(MAX_W * 0.5, MAX_W, later, departure, catching_up=True)


def test_the_horizon_is_bounded() -> None:
    plan = make_plan(_request(departure=T0 + timedelta(days=3650)))
    assert len(plan.slots) <= 8 * 24 * 4 + 1


def test_quarter_hour_slots_and_partial_edges() -> None:
    now = T0 + timedelta(minutes=7)
    plan = make_plan(_request(now=now, departure=T0 + 2 * H + timedelta(minutes=5)))
    assert plan.slots[0].start == now
    assert plan.slots[0].end == T0 + timedelta(minutes=15)
    assert plan.slots[-1].end == T0 + 2 * H + timedelta(minutes=5)
    assert all(b.start == a.end for a, b in zip(plan.slots, plan.slots[1:], strict=False))


def test_unknown_prices_are_estimated_from_the_known_ones() -> None:
    prices = _hourly_prices(T0, [0.2, 0.4])  # only the first two hours known
    plan = make_plan(_request(prices=prices))
    later = [s for s in plan.slots if s.start >= T0 + 2 * H]
    assert all(s.price == pytest.approx(0.3) and s.price_estimated for s in later)


def test_a_forecast_of_the_past_is_ignored() -> None:
    past = tuple(ForecastSlot(T0 - (i + 1) * H, T0 - i * H, 9000.0) for i in range(2000))
    assert make_plan(_request(forecast=past)).solar_wh == 0


def test_plan_demand() -> None:
    """The rule both the manager and the bench use: none once the need is met; full power
    when only that reaches the target; in a grid slot its planned sun plus grid."""
    prices = _hourly_prices(T0, [0.3] * 12 + [0.1])
    forecast = (ForecastSlot(T0 + 12 * H, T0 + 13 * H, 3000.0, 3000.0),)
    plan = make_plan(_request(need_wh=5000.0, prices=prices, forecast=forecast, house_w=0.0))
    slot_time = T0 + 12 * H + timedelta(minutes=50)
    demand = plan_demand(plan, 5000.0, MAX_W, slot_time - 11 * H, T0 + 13 * H)
    assert demand is None  # before the slot: surplus rules
    slot = plan.slot_at(slot_time)
    assert slot is not None
    assert slot.grid_w > 0
    demand = plan_demand(plan, 2000.0, MAX_W, slot_time, T0 + 14 * H)
    assert demand is not None
    assert demand.reason is Reason.PLAN_GRID
    assert demand.power == pytest.approx(slot.solar_w + slot.grid_w)
    assert plan_demand(plan, 0.0, MAX_W, slot_time, T0 + 13 * H) is None
    late = plan_demand(plan, MAX_W, MAX_W, T0 + 12 * H, T0 + 13 * H)
    assert late is not None
    assert (late.power, late.reason) == (MAX_W, Reason.PLAN_CATCH_UP)
    assert plan_demand(None, 1000.0, MAX_W, T0, T0 + 13 * H) is None


def test_energy_needed() -> None:
    kw = {"capacity_wh": 60000.0, "efficiency": 0.9, "target_wh": None, "delivered_wh": 0.0}
    assert energy_needed(soc=30.0, target_soc=80.0, **kw) == pytest.approx(0.5 * 60000 / 0.9)
    assert energy_needed(soc=85.0, target_soc=80.0, **kw) == 0
    assert energy_needed(soc=None, target_soc=80.0, **kw) is None
    by_energy = {**kw, "target_wh": 10000.0, "delivered_wh": 4000.0}
    assert energy_needed(soc=None, target_soc=None, **by_energy) == 6000.0
    assert energy_needed(soc=float("nan"), target_soc=80.0, **kw) is None


@settings(max_examples=150, deadline=None)
@given(
    need=st.floats(0, 80000),
    hours=st.integers(1, 40),
    minutes=st.integers(0, 59),
    prices=st.lists(st.floats(-0.2, 1.0), min_size=1, max_size=48),
    pv=st.lists(st.floats(0, 12000), min_size=1, max_size=48),
)
def test_plan_properties(
    need: float, hours: int, minutes: int, prices: list[float], pv: list[float]
) -> None:
    """Every slot within the car's power; the reservation covers what the sun does not
    (when the time allows it); no unused slot with room is cheaper than a used one."""
    now = T0 + timedelta(minutes=minutes)
    departure = now + hours * H
    forecast = tuple(ForecastSlot(T0 + i * H, T0 + (i + 1) * H, v) for i, v in enumerate(pv))
    plan = make_plan(
        _request(
            now=now,
            departure=departure,
            need_wh=need,
            forecast=forecast,
            prices=_hourly_prices(T0, prices),
        )
    )
    for slot in plan.slots:
        assert slot.grid_w >= -1e-9
        assert slot.solar_w >= 0
        assert slot.solar_w + slot.grid_w <= MAX_W + 1e-6
    assert plan.solar_wh <= need + 1e-6
    if plan.feasible:
        assert plan.solar_wh + plan.grid_wh == pytest.approx(need, rel=1e-6, abs=1e-3)
        used = [s for s in plan.slots if s.grid_w > 0]
        spare = [s for s in plan.slots if s.solar_w + s.grid_w < MAX_W - 1e-6]
        if used and spare:
            assert min(s.price or 0 for s in spare) >= max(s.price or 0 for s in used) - 1e-9
    else:
        assert all(s.solar_w + s.grid_w == pytest.approx(MAX_W) for s in plan.slots)


# -- the controller's demand --------------------------------------------------------------


def _inputs(now: datetime, grid_w: float, car_a: float) -> tuple[SiteInput, WallboxInput]:
    car_w = car_a * 230 * 3
    site = SiteInput(measured_at=now, grid_power=grid_w)
    box = WallboxInput(
        measured_at=now,
        connected=True,
        power=car_w,
        currents=(car_a, car_a, car_a),
        current_limit=int(car_a),
    )
    return site, box


def test_demand_is_the_least_power_and_the_surplus_may_give_more() -> None:
    c = SurplusController(Settings(mode=ChargeMode.PV))
    site, box = _inputs(T0, grid_w=-2000.0, car_a=0.0)  # 2 kW export, paused car
    d = c.decide(T0, site, box, demand=Demand(power=5000.0, reason=Reason.PLAN_GRID))
    # at least 5000 W → 8 A (the surplus' 2 A are part of it), at once, no start delay.
    assert (d.current, d.reason, d.started) == (8, Reason.PLAN_GRID, True)
    sunny = SurplusController(Settings(mode=ChargeMode.PV))
    site, box = _inputs(T0, grid_w=-8000.0, car_a=0.0)  # 8 kW export: 11 A of surplus
    d = sunny.decide(T0, site, box, demand=Demand(power=5000.0, reason=Reason.PLAN_GRID))
    assert d.current == 11
    full = c.decide(
        T0 + timedelta(seconds=2),
        *_inputs(T0 + timedelta(seconds=2), grid_w=0.0, car_a=8.0),
        demand=Demand(power=MAX_W, reason=Reason.PLAN_CATCH_UP),
    )
    assert (full.current, full.reason) == (16, Reason.PLAN_CATCH_UP)


def test_demand_stop_at_the_limit_soc_in_every_mode() -> None:
    for mode in (ChargeMode.PV, ChargeMode.FAST, ChargeMode.MIN_PV):
        c = SurplusController(Settings(mode=mode))
        d = c.decide(T0, *_inputs(T0, -9000.0, 10.0), demand=Demand(stop=True))
        assert (d.current, d.reason) == (0, Reason.SOC_LIMIT), mode


def test_demand_keeps_the_fuse_cap() -> None:
    c = SurplusController(Settings(mode=ChargeMode.PV, fuse_current=20.0, fuse_margin=2.0))
    site = SiteInput(measured_at=T0, grid_power=6000.0, phase_currents=(10.0, 10.0, 10.0))
    _, box = _inputs(T0, 6000.0, 0.0)
    d = c.decide(T0, site, box, demand=Demand(power=MAX_W, reason=Reason.PLAN_CATCH_UP))
    assert d.current <= 8  # room 8 A: half of it at most (a start needs room to ramp)
    assert d.fuse_cap == 8


def test_demand_without_a_fresh_site_charges_the_demand_alone() -> None:
    c = SurplusController(Settings(mode=ChargeMode.PV))
    _, box = _inputs(T0, 0.0, 0.0)
    d = c.decide(T0, None, box, demand=Demand(power=5000.0, reason=Reason.PLAN_GRID))
    assert d.current == 8  # ceil(5000 / 690)
