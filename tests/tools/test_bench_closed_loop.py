"""Smoke test of ``python -m bench.closed_loop``: a few simulated hours, every strategy."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.closed_loop import (
    COLUMNS,
    HORIZON_S,
    IDEAL,
    DayResult,
    Metrics,
    Noise,
    Realism,
    Rig,
    Snapshot,
    curve_beyond,
    dominates,
    interpolate_floor,
    main,
    markdown_table,
    percentile,
    reduce_times,
    run_day,
    verdict,
    verdict_lines,
    write_plots,
)
from bench.scenarios import (
    BUILTIN,
    HOUR,
    ScenarioError,
    load_profile,
    load_scenarios,
    scenario_from_dict,
)
from bench.strategies import BASELINES, CURVES, OURS, EvccLike, Original, Reading, StrategySpec
from custom_components.solar_wallbox.charging.model import ChargeMode, Settings

SHORT = replace(BUILTIN["fast_clouds"], start_s=9.5 * HOUR, arrive_s=10 * HOUR, leave_s=13 * HOUR)
NEVER = StrategySpec("ours", "never", Settings(mode=ChargeMode.OFF))
SPECS = (OURS, *BASELINES, CURVES[0], NEVER)


@pytest.fixture(scope="module")
def result() -> DayResult:
    """Three hours of fast clouds with every default strategy, one curve point and a
    strategy that never charges (the plot traces too, no optimum)."""
    return run_day(SHORT, SPECS, optimum=False, traces=True)


def test_table_structure(result: DayResult) -> None:
    """One row per default strategy and B1, every column filled; the targets line."""
    lines = markdown_table([result]).splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[1] for row in rows] == ["ours", "evcc", "original", rows[3][1]]
    assert rows[3][1].startswith("B1")
    assert all(len(row) == len(COLUMNS) and all(row) for row in rows)
    [line] = verdict_lines([result])
    assert line.startswith("targets fast_clouds: dominates evcc ")


def test_household_accounting(result: DayResult) -> None:
    """Every kWh counted once: solar into the car equals the export lost; a strategy that
    never charges costs nothing; more car energy than B1 is not solar."""
    by = result.by_label()
    never = by["never"]
    assert never.car_kwh == 0.0
    assert never.extra_import_kwh == pytest.approx(0.0, abs=1e-9)
    assert never.export_lost_kwh == pytest.approx(0.0, abs=1e-9)
    for m in result.metrics:
        assert m.solar_kwh == pytest.approx(m.export_lost_kwh, abs=1e-6)
        assert m.solar_kwh <= result.b1_kwh + 0.05
    for name in ("ours", "original", "evcc"):
        assert by[name].car_kwh > 1.0
        assert by[name].extra_import_kwh > -1e-6
    # Fast clouds: holding the minimum through clouds costs import.
    assert by["evcc"].extra_import_kwh > 0.05
    assert result.b1_kwh > by["ours"].solar_kwh


def test_our_currents_in_range(result: DayResult) -> None:
    """Our controller only ever decided 0 or a current within [min, max]."""
    assert result.ours_currents
    assert all(c == 0 or 6 <= c <= 16 for c in result.ours_currents)


def test_same_seed_same_result() -> None:
    """A day and seed are reproducible; another seed gives another day."""
    short = replace(SHORT, leave_s=10.5 * HOUR)
    a = run_day(short, (OURS,), optimum=False)
    b = run_day(short, (OURS,), optimum=False)
    c = run_day(replace(short, seed=99), (OURS,), optimum=False)
    assert a.metrics == b.metrics
    assert a.metrics != c.metrics


def test_readings_are_noisy_delayed_and_skewed() -> None:
    """Ours combines values of different ages with noise; ideal readings are exact."""
    scenario = SHORT
    seconds = HORIZON_S + 1
    for realism in (Realism(), IDEAL):
        noise = Noise.draw(3, seconds, realism)
        rig = Rig(OURS, scenario, realism, noise)
        for t in range(40000, 40008):
            rig.history.append(
                Snapshot(
                    t, 5000.0 + t, 500.0, float(t), 100.0, 50.0, 0.0, (0.0, 0.0, 0.0), True,
                    False, 0, 0.0, 0.0, None,
                )
            )  # fmt: skip
        reading = rig.reading(40007)
        if realism == IDEAL:
            assert reading.grid_w == 40007.0
            assert reading.pv_w == 5000.0 + 40007
        else:
            # The grid meter's value is a second old, noisy and quantised to 1 W.
            assert abs(reading.grid_w - 40006.0) < 100.0
            assert reading.grid_w != 40006.0
            assert reading.grid_w == round(reading.grid_w)
            site_t = 40007 - (40007 - noise.offsets[0]) % 2
            assert abs(reading.pv_w - (5000.0 + site_t)) < 80.0


def test_plots(result: DayResult, tmp_path: Path) -> None:
    """A PNG per day with matplotlib, a clear message without it."""
    written = write_plots([result], tmp_path)
    if importlib.util.find_spec("matplotlib") is None:
        assert isinstance(written, str)
        assert "matplotlib" in written
    else:
        assert written == [tmp_path / "fast_clouds.png"]
        assert (tmp_path / "fast_clouds.png").stat().st_size > 1000


def _m(kind: str, car: float, extra: float, *, default: bool = False) -> Metrics:
    return Metrics(kind, kind, default, car, extra, car - extra, car - extra, 0.0, 1, 1, 0, None, 1)


def test_targets_helpers() -> None:
    """Dominance, curves, the optimum's floor, percentiles and drops."""
    assert dominates(_m("ours", 10.0, 1.0), _m("evcc", 9.0, 1.2))
    assert not dominates(_m("ours", 10.0, 1.3), _m("evcc", 9.0, 1.2))
    assert not dominates(_m("ours", 8.0, 0.5), _m("evcc", 9.0, 1.2))
    ours = [(5.0, 0.1), (10.0, 1.0), (20.0, 5.0)]
    assert curve_beyond(ours, [(9.0, 1.2), (15.0, 6.0)]) == 0
    assert curve_beyond(ours, [(9.0, 0.5), (25.0, 9.0)]) == 2
    curve = [(0.0, 0.0), (10.0, 1.0), (20.0, 4.0)]
    assert interpolate_floor(curve, 15.0) == 1.0
    assert interpolate_floor(curve, 20.0) == 4.0
    days = [
        DayResult(
            "d", "d", seed, 0 if seed == 1 else 1,
            [_m("ours", 10.0, 1.0, default=True), _m("evcc", 9.0, 1.2, default=True),
             _m("original", 11.0, 0.5, default=True)],
            12.0, 20.0, None, [], 0.0,
        )
        for seed in (1, 2)
    ]  # fmt: skip
    v = verdict(days)
    assert (v.seeds, v.dominates_evcc, v.dominates_original) == (2, 2, 0)
    # A drop at i=1 (car 5 kW, surplus 4 kW), reduced at i=3.
    times = reduce_times([4000.0] * 5, [0.0] * 5, [0.0] + [5000.0] * 4, [8, 8, 8, 6, 6])
    assert times == [(2, 8)]
    assert percentile([1, 2, 3, 4, 100], 0.95) == 100
    assert percentile([], 0.95) is None


def test_optimum_bounds_every_strategy() -> None:
    """With scipy: no strategy beats the perfect-foresight bound; B1 ≥ the optimum's
    solar at zero extra import."""
    pytest.importorskip("scipy")
    short = replace(SHORT, arrive_s=11 * HOUR, leave_s=12 * HOUR, start_s=10.5 * HOUR)
    day = run_day(short, (OURS, *BASELINES), cache=None, curve_points=3)
    assert day.optimum is not None
    assert len(day.optimum.curve) >= 4
    for m in day.metrics:
        assert m.gap_kwh is not None
        assert m.gap_kwh >= -0.01


def _reading(**values: object) -> Reading:
    base: dict[str, object] = {
        "t": 1000.0,
        "pv_w": 0.0,
        "house_w": 0.0,
        "grid_w": 0.0,
        "battery_w": 0.0,
        "soc_pct": 50.0,
        "plugged": True,
        "charging": False,
        "car_w": 0.0,
        "currents": (0.0, 0.0, 0.0),
        "limit": 0,
        "session_wh": 0.0,
        "session_s": 1000.0,
        "tag": "x",
    }
    base.update(values)
    return Reading(**base)  # type: ignore[arg-type]


def test_original_control_law() -> None:
    """+1 A steps, floor reduce, 120 s wait after a halt, default amps before the car."""
    tool = Original()
    assert tool.config.min_amp == 8
    assert tool.config.minimum_charging_power == 2300.0  # the tool's README example
    tool = Original(replace(tool.config, min_amp=6, minimum_charging_power=0.0))
    assert tool.poll(_reading(plugged=False)) == 8
    assert tool.poll(_reading(pv_w=3000.0, house_w=350.0)) == 0  # below 4140 W: halt
    assert tool.next_poll == 1120.0
    assert tool.poll(_reading(t=1120.0, pv_w=6000.0, house_w=350.0)) == 6  # resume at min
    car = 6 * 690.0
    assert tool.poll(_reading(t=1140.0, pv_w=9000.0, house_w=350.0 + car, car_w=car)) == 7
    car = 7 * 690.0
    # Surplus 4700 W below the 4830 W drawn: floor(4700 / 690) = 6 A.
    assert tool.poll(_reading(t=1160.0, pv_w=4700.0 + 350.0, house_w=350.0 + car, car_w=car)) == 6


def test_evcc_like_timers() -> None:
    """Start at once after plug-in (timer elapsed), hold min 3 min, then stop."""
    evcc = EvccLike()
    assert evcc.poll(_reading(plugged=False)) == 0
    # Plug-in with 5 kW export: starts at the minimum at once.
    assert evcc.poll(_reading(t=0.0, grid_w=-5000.0)) == 6
    charging = {"charging": True, "currents": (6.0, 6.0, 6.0), "car_w": 4140.0}
    # 1380 W more export: 6 + 2 = 8 A.
    assert evcc.poll(_reading(t=30.0, grid_w=-1380.0, **charging)) == 8
    # Import: hold the minimum for 180 s, then stop.
    charging["currents"] = (8.0, 8.0, 8.0)
    assert evcc.poll(_reading(t=60.0, grid_w=3000.0, **charging)) == 6
    charging["currents"] = (6.0, 6.0, 6.0)
    for t in (90.0, 120.0, 150.0, 180.0, 210.0):
        assert evcc.poll(_reading(t=t, grid_w=1000.0, **charging)) is None
    assert evcc.poll(_reading(t=240.0, grid_w=1000.0, **charging)) == 0


def test_scenario_file_and_profile(tmp_path: Path) -> None:
    """A JSON scenario with a CSV profile runs through the command line."""
    (tmp_path / "day.csv").write_text(
        "t_s,pv_w,house_w\n0,0,300\n39600,7000,400\n43200,7500,400\n86400,0,300\n"
    )
    (tmp_path / "day.json").write_text(
        json.dumps(
            {
                "name": "measured",
                "profile": "day.csv",
                "start": "11:00",
                "arrive": "11:00",
                "leave": "11:20",
                "car": {"phases": 1},
                "battery": {"capacity_wh": 5000},
            }
        )
    )
    profile = load_profile(tmp_path / "day.csv")
    assert profile.pv_w[39600] == 7000.0
    assert profile.pv_w[41400] == pytest.approx(7250.0)
    [scenario] = load_scenarios(tmp_path / "day.json")
    assert scenario.car.phases == 1
    assert scenario.battery.capacity_wh == 5000
    lines: list[str] = []
    assert (
        main(
            [
                *("--scenario-file", str(tmp_path / "day.json"), "--jobs", "1", "--json"),
                *("--seeds", "1", "--no-curves", "--no-optimum"),
            ],
            lines.append,
        )
        == 0
    )
    data = json.loads(lines[0])
    [entry] = data["days"]
    assert entry["name"] == "measured"
    assert [m["strategy"] for m in entry["metrics"]] == ["ours", "evcc", "original"]
    ours = entry["metrics"][0]
    assert ours["car_kwh"] > 0
    assert data["targets"][0]["seeds"] == 1


def test_bad_input(tmp_path: Path) -> None:
    """Unknown keys and broken files are reported, not crashed on."""
    with pytest.raises(ScenarioError):
        scenario_from_dict({"name": "x", "pv": {"peek_w": 1}})
    with pytest.raises(ScenarioError):
        scenario_from_dict({"name": "x", "arrive": "19:00", "leave": "18:00"})
    (tmp_path / "bad.csv").write_text("t,pv\n1,2\n")
    assert main(["--profile", str(tmp_path / "bad.csv")], lambda _: None) == 2
    assert main(["--seeds", "0"], lambda _: None) == 2
