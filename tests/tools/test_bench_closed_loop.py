"""Smoke test of ``python -m bench.closed_loop``: a few simulated hours, every strategy."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.closed_loop import (
    COLUMNS,
    UPPER,
    ScenarioResult,
    attribute,
    main,
    markdown_table,
    percentile,
    reduce_times,
    run_scenario,
    sweep_specs,
    targets_line,
    upper_bound,
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
from bench.strategies import EvccLike, Original, Reading

STRATEGIES = ["ours", "original", "evcc", UPPER]
SHORT = replace(BUILTIN["fast_clouds"], start_s=9.5 * HOUR, arrive_s=10 * HOUR, leave_s=13 * HOUR)


@pytest.fixture(scope="module")
def result() -> ScenarioResult:
    """Three hours of fast clouds with every strategy (and the plot traces)."""
    return run_scenario(SHORT, traces=True, full_day=False)


def test_table_structure(result: ScenarioResult) -> None:
    """One row per strategy, every column filled."""
    lines = markdown_table([result]).splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert len(lines) == 2 + len(STRATEGIES)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[1] for row in rows] == STRATEGIES
    assert all(len(row) == len(COLUMNS) and all(row) for row in rows)
    assert targets_line(result).startswith("targets fast_clouds: ")
    assert ("PASS" in targets_line(result)) or ("MISS" in targets_line(result))


def test_energy_sanity(result: ScenarioResult) -> None:
    """Energies are non-negative, add up, and the upper bound is an upper bound."""
    assert result.exogenous_identical
    by_name = {m.strategy: m for m in result.metrics}
    assert list(by_name) == STRATEGIES
    upper = by_name[UPPER]
    assert upper.solar_kwh > 1.0
    for m in result.metrics:
        for value in (m.car_kwh, m.solar_kwh, m.battery_kwh, m.grid_kwh):
            assert value >= 0
        assert m.solar_kwh + m.battery_kwh + m.grid_kwh == pytest.approx(m.car_kwh, abs=1e-6)
        assert m.starts >= 0
        assert upper.solar_kwh >= m.solar_kwh
    for name in ("ours", "original", "evcc"):
        assert by_name[name].car_kwh > 0
        assert by_name[name].changes is not None


def test_our_currents_in_range(result: ScenarioResult) -> None:
    """Our controller only ever decided 0 or a current within [min, max]."""
    assert result.ours_currents
    assert all(c == 0 or 6 <= c <= 16 for c in result.ours_currents)


def test_plots(result: ScenarioResult, tmp_path: Path) -> None:
    """A PNG per scenario with matplotlib, a clear message without it."""
    written = write_plots([result], tmp_path)
    if importlib.util.find_spec("matplotlib") is None:
        assert isinstance(written, str)
        assert "matplotlib" in written
    else:
        assert written == [tmp_path / "fast_clouds.png"]
        assert (tmp_path / "fast_clouds.png").stat().st_size > 1000


def test_metric_helpers() -> None:
    """Attribution order, upper bound limits, drops and percentiles."""
    # PV 5 kW, house 1 kW, car 6 kW, battery discharging 1.5 kW: 4 kW solar, 1.5 battery.
    car, solar, battery, grid = attribute(
        [5000.0] * 3600, [1000.0] * 3600, [6000.0] * 3600, [-1500.0] * 3600
    )
    assert (car, solar, battery, grid) == pytest.approx((6.0, 4.0, 1.5, 0.5))
    # The household takes the battery first when PV does not cover it.
    assert attribute([0.0], [500.0], [4140.0], [-3000.0])[2] == pytest.approx(2500 / 3.6e6)
    scenario = BUILTIN["summer"]
    assert upper_bound(scenario, [4000.0, 5000.0, 20000.0], [0.0, 0.0, 0.0]) == [
        0.0,
        5000.0,
        16 * 230.0 * 3,
    ]
    # A drop at i=1 (car 5 kW, surplus 4 kW), reduced at i=3.
    times = reduce_times([4000.0] * 5, [0.0] * 5, [0.0] + [5000.0] * 4, [8, 8, 8, 6, 6])
    assert times == [(2, 8)]
    assert percentile([1, 2, 3, 4, 100], 0.95) == 100
    assert percentile([], 0.95) is None


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
        main(["--scenario-file", str(tmp_path / "day.json"), "--jobs", "1", "--json"], lines.append)
        == 0
    )
    data = json.loads(lines[0])
    [entry] = data["scenarios"]
    assert entry["name"] == "measured"
    assert [m["strategy"] for m in entry["metrics"]] == STRATEGIES
    ours = entry["metrics"][0]
    assert ours["car_kwh"] > 0
    assert entry["exogenous_identical"]


def test_bad_input(tmp_path: Path) -> None:
    """Unknown keys and broken files are reported, not crashed on."""
    with pytest.raises(ScenarioError):
        scenario_from_dict({"name": "x", "pv": {"peek_w": 1}})
    with pytest.raises(ScenarioError):
        scenario_from_dict({"name": "x", "arrive": "19:00", "leave": "18:00"})
    (tmp_path / "bad.csv").write_text("t,pv\n1,2\n")
    assert main(["--profile", str(tmp_path / "bad.csv")], lambda _: None) == 2
    with pytest.raises(ValueError, match="numeric"):
        sweep_specs({"mode": ["pv"]})
    specs = sweep_specs({"stop_energy": ["50", "150"]}, clamp=True)
    assert [s.label for s in specs] == [
        "stop_energy=50",
        "stop_energy=50 +clamp",
        "stop_energy=150",
        "stop_energy=150 +clamp",
    ]
