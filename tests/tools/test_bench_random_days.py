"""Random benchmark days: reproducible, plausible, usable by the site model and the car."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.random_days import (
    MAX_DAYS,
    NO_BATTERY,
    PLUG_WEIGHTS,
    WEATHER_WEIGHTS,
    parse_random_spec,
    random_day,
    random_scenario,
    random_scenarios,
    season_factor,
    sun_hours,
)
from bench.scenarios import HOUR, ScenarioError, scenario_from_dict
from simulator.car import Car
from simulator.model import DAY_S, PvProfile, SiteModel

SEEDS = range(200)


def test_same_seed_same_day() -> None:
    """A seed fully determines the scenario, the model seed included."""
    assert random_scenario(17) == random_scenario(17)
    assert random_day(17) == random_day(17)
    assert random_scenarios(5, 3) == [random_scenario(5), random_scenario(6), random_scenario(7)]


def test_different_seeds_differ() -> None:
    days = [random_scenario(seed) for seed in range(100)]
    assert len({day.title for day in days}) == len(days)
    assert len({day.seed for day in days}) == len(days)
    assert len({(day.pv, day.house, day.car) for day in days}) == len(days)


def test_names_and_titles() -> None:
    day = random_scenario(17)
    assert day.name == "random-17"
    assert day.title.startswith("random 17: ")
    assert "car" in day.title
    assert "kW peak" in day.title


@pytest.mark.parametrize("seed", SEEDS)
def test_every_day_is_valid_and_runs(seed: int) -> None:
    """Sane ranges, and the model and the car run a minute from the arrival."""
    drawn = random_day(seed)
    day = drawn.scenario
    pv, house, battery, car = day.pv, day.house, day.battery, day.car
    assert 1 <= drawn.day_of_year <= 365
    assert 4.0 < pv.sunrise_h < 9.0 < 16.0 < pv.sunset_h < 22.0
    assert 1000.0 <= pv.peak_w <= 10_500.0
    assert 0.0 <= pv.clouds_per_h <= 40.0
    assert 0 < pv.cloud_duration_s[0] <= pv.cloud_duration_s[1]
    assert 0 < pv.cloud_cut[0] <= pv.cloud_cut[1] < 1
    assert 0 <= pv.cloud_hours[0] < pv.cloud_hours[1] <= 24
    assert 250.0 <= house.base_w <= 600.0
    assert sum(house.base_phases) == pytest.approx(1.0)
    names = [a.name for a in house.appliances]
    assert len(names) == len(set(names))
    for appliance in house.appliances:
        assert 500.0 <= appliance.power_w <= 9000.0
        assert sum(appliance.phases) == pytest.approx(1.0)
        assert 0 < appliance.duration_s[0] <= appliance.duration_s[1]
    if battery != NO_BATTERY:
        assert 4000.0 <= battery.capacity_wh <= 15_000.0
        assert 1500.0 <= battery.max_charge_w <= 6000.0
        assert 1500.0 <= battery.max_discharge_w <= 6000.0
    assert battery.soc_min_pct <= day.soc_pct <= battery.soc_max_pct
    assert car.phases in (1, 3)
    assert 10.0 <= car.max_current_a <= 16.0
    assert car.min_current_a in (6.0, 8.0)
    assert 40.0 <= car.capacity_kwh <= 100.0
    assert 5.0 <= car.soc_pct < car.target_soc_pct <= 100.0
    if car.taper_soc_pct is not None:
        assert car.target_soc_pct - 12.0 <= car.taper_soc_pct < car.target_soc_pct
        assert 1.5 <= car.taper_min_a <= 6.0
    assert 1.0 <= car.response_delay_s <= 15.0
    assert 1.0 <= car.ramp_s <= 12.0
    assert 0.0 <= day.start_s <= day.arrive_s < day.leave_s <= DAY_S
    assert day.leave_s - day.arrive_s >= 4 * HOUR
    assert day.arrive_s % 60 == 0
    assert day.leave_s % 60 == 0

    model = SiteModel(pv, house, battery, seed=day.seed, start_s=day.arrive_s, soc_pct=day.soc_pct)
    vehicle = Car(car.config())
    vehicle.plug_in()

    def wallbox(dt: float) -> None:
        vehicle.step(dt, 16.0)
        model.loads["wallbox"] = vehicle.phase_power()

    model.steppers.append(wallbox)
    for _ in range(60):
        model.step(1.0)
        assert battery.soc_min_pct - 1e-9 <= model.soc_pct <= battery.soc_max_pct + 1e-9
        assert -battery.max_discharge_w <= model.battery_w <= battery.max_charge_w
        assert model.pv_w >= 0.0
        balance = model.pv_w + model.grid_w - model.battery_w - model.house_w
        assert balance == pytest.approx(0.0, abs=1e-6)
    assert vehicle.current_a > 0.0  # reacted and ramped within the minute
    assert vehicle.current_a <= car.max_current_a
    if battery == NO_BATTERY:
        assert model.battery_w == 0.0
        assert model.soc_pct == day.soc_pct


def test_the_distributions_cover_every_case() -> None:
    """Every weather and plug pattern, both phase counts, tapering and full cars appear."""
    days = [random_day(seed) for seed in range(1000)]
    assert {d.weather for d in days} == set(WEATHER_WEIGHTS["summer"])
    assert {d.plug for d in days} == set(PLUG_WEIGHTS)
    assert {d.season for d in days} == set(WEATHER_WEIGHTS)
    cars = [d.scenario.car for d in days]
    assert Counter(c.phases for c in cars).keys() == {1, 3}
    assert {c.max_current_a for c in cars} == {10.0, 13.0, 16.0}
    assert 300 < sum(c.taper_soc_pct is not None for c in cars) < 500
    assert 50 < sum(c.min_current_a > 6.0 for c in cars) < 150
    nearly_full = [
        c for c in cars if (c.target_soc_pct - c.soc_pct) / 100 * c.capacity_kwh <= 12.0 + 1e-9
    ]
    assert len(nearly_full) > 250
    assert 200 < sum(d.scenario.battery == NO_BATTERY for d in days) < 400
    names = Counter(a.name for d in days for a in d.scenario.house.appliances)
    assert names["sauna"] > 20
    assert names["heat_pump"] > 100
    assert 0 < names["sauna"] < names["kettle"]
    for drawn in days:
        if drawn.season == "summer":
            assert "heat_pump" not in {a.name for a in drawn.scenario.house.appliances}
        if drawn.season == "winter":
            assert drawn.weather != "storm"


def test_peaks_follow_the_season() -> None:
    """Clear winter days peak at 3-5.5 kW, clear summer days at 7.5-10.5 kW."""
    winter, summer = [], []
    for seed in range(1500):
        drawn = random_day(seed)
        if drawn.weather != "clear":
            continue
        if drawn.day_of_year <= 31 or drawn.day_of_year >= 335:
            winter.append(drawn.scenario.pv.peak_w)
        if 152 <= drawn.day_of_year <= 212:
            summer.append(drawn.scenario.pv.peak_w)
    assert winter
    assert summer
    assert 3000.0 <= min(winter) <= max(winter) <= 5500.0
    assert 7500.0 <= min(summer) <= max(summer) <= 10_500.0


def test_sun_and_season_factor() -> None:
    """Sunrise and sunset in central Germany, summer time included."""
    rise, down = sun_hours(172)  # 21 June, CEST
    assert rise == pytest.approx(5.25, abs=0.25)
    assert down == pytest.approx(21.6, abs=0.25)
    rise, down = sun_hours(355)  # 21 December, CET
    assert rise == pytest.approx(8.4, abs=0.25)
    assert down == pytest.approx(16.3, abs=0.25)
    assert season_factor(355) == pytest.approx(0.44)
    assert season_factor(172) == pytest.approx(0.95, abs=0.01)


def test_storms_come_in_the_afternoon() -> None:
    storms = [d.scenario.pv for d in map(random_day, range(600)) if d.weather == "storm"]
    assert storms
    for pv in storms:
        assert 12.5 <= pv.cloud_hours[0] <= 15.0
        assert 18.0 <= pv.cloud_hours[1] <= 20.5
        assert pv.cloud_cut[0] >= 0.7


def test_cloud_hours_limit_when_clouds_start() -> None:
    """No cloud before the window opens; clouds inside it."""
    pv = PvProfile(
        peak_w=8000.0, clouds_per_h=60.0, cloud_duration_s=(60.0, 60.0), cloud_hours=(13.0, 14.0)
    )
    model = SiteModel(pv, start_s=0.0)
    cuts_before, cuts_inside, cuts_after = 0, 0, 0
    for _ in range(int(DAY_S)):
        model.step(1.0)
        hour = model.t_s / HOUR
        if model.cloud_cut > 0:
            if hour < 13.0:
                cuts_before += 1
            elif hour < 14.0:
                cuts_inside += 1
            elif hour > 14.05:  # a cloud that started at 13:59 ends by 14:01
                cuts_after += 1
    assert cuts_before == 0
    assert cuts_after == 0
    assert cuts_inside > 600


def test_parse_random_spec() -> None:
    assert parse_random_spec("summer") is None
    assert parse_random_spec("my_random") is None
    assert parse_random_spec("random:5") == [random_scenario(5)]
    days = parse_random_spec("random:100-104")
    assert days is not None
    assert [d.name for d in days] == [f"random-{n}" for n in range(100, 105)]
    days = parse_random_spec(" random:1, 3-4 ")
    assert days is not None
    assert [d.name for d in days] == ["random-1", "random-3", "random-4"]
    assert parse_random_spec("random-7") == [random_scenario(7)]


@pytest.mark.parametrize(
    "spec",
    ["random:", "random:a", "random:5-3", "random:1-", "random:-3", "random-x", "random:1,,2"],
)
def test_parse_random_spec_rejects(spec: str) -> None:
    with pytest.raises(ScenarioError):
        parse_random_spec(spec)


def test_parse_random_spec_limits_the_count() -> None:
    with pytest.raises(ScenarioError, match="more than"):
        parse_random_spec(f"random:0-{MAX_DAYS}")


def test_json_car_keys_for_the_taper() -> None:
    day = scenario_from_dict(
        {
            "name": "tapering",
            "pv": {"cloud_hours": [13, 19]},
            "car": {"taper_soc_pct": 80, "taper_min_a": 3, "min_current_a": 8},
        }
    )
    config = day.car.config()
    assert config.taper_soc_pct == 80
    assert config.taper_min_a == 3
    assert config.min_current_a == 8
    assert day.pv.cloud_hours == (13.0, 19.0)
    assert scenario_from_dict({"name": "plain"}).car.config().taper_soc_pct is None
