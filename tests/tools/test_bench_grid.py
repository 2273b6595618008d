"""The benchmark's grid-connection days: the slow meter, the curtailed site and the fuse
evening; what the bench gives our controller (phase currents, curtailment), evcc's circuit
and the fuse metrics."""

import copy
import importlib.util
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.closed_loop import (
    HORIZON_S,
    IDEAL,
    TICK_S,
    Noise,
    Realism,
    Rig,
    Snapshot,
    exogenous_day,
    fuse_metrics,
    grid_phase_powers,
    grid_table,
    report,
    run_day,
    write_plots,
)
from bench.scenarios import BUILTIN, HOUR, SLOW_METER_STALE_S, ScenarioError, scenario_from_dict
from bench.strategies import BASELINES, DAY0, OURS, EvccConfig, EvccLike, Ours, Reading
from custom_components.solar_wallbox.charging.model import ChargeMode, Reason, SiteInput
from simulator.model import SiteModel
from simulator.pac2200 import phase_currents

FUSE = BUILTIN["fuse_evening"]
CURTAILED = BUILTIN["curtailed"]
SLOW = BUILTIN["meter_15s"]


def test_new_days_are_built_in() -> None:
    """The three days exist with what makes them what they are."""
    assert SLOW.meter_interval_s == 15
    assert SLOW.stale_timeout_s == SLOW_METER_STALE_S > SLOW.meter_interval_s
    assert SLOW.pv == BUILTIN["fast_clouds"].pv
    assert SLOW.seed == BUILTIN["fast_clouds"].seed
    assert CURTAILED.feed_in_limit_w == pytest.approx(0.6 * CURTAILED.pv.peak_w)
    assert FUSE.mode == "fast"
    assert FUSE.fuse_current_a == 25.0
    assert FUSE.fuse_margin_a == 2.0
    assert {a.name for a in FUSE.house.appliances} == {"heat_pump", "kettle", "cooker"}
    assert CURTAILED.has_optimum
    assert not FUSE.has_optimum
    assert SLOW.has_optimum


def test_scenario_file_keys() -> None:
    """The JSON keys of the new days, a schedule included; bad values are refused."""
    day = scenario_from_dict(
        {
            "name": "x",
            "mode": "min_pv",
            "feed_in_limit_w": 4000,
            "meter_interval_s": 10,
            "fuse_current_a": 35,
            "fuse_margin_a": 3,
            "stale_timeout_s": 25,
            "house": {
                "appliances": [
                    {
                        "name": "cooker",
                        "power_w": 5000,
                        "duration_s": [0, 0],
                        "starts_per_h": 0,
                        "schedule": [[18.5, 2700]],
                    }
                ]
            },
        }
    )
    assert (day.mode, day.feed_in_limit_w, day.meter_interval_s) == ("min_pv", 4000.0, 10)
    assert (day.fuse_current_a, day.fuse_margin_a, day.stale_timeout_s) == (35.0, 3.0, 25.0)
    assert day.house.appliances[0].schedule == ((18.5, 2700.0),)
    for bad in ({"mode": "turbo"}, {"meter_interval_s": 0}, {"feed_in_limit_w": -1}):
        with pytest.raises(ScenarioError):
            scenario_from_dict({"name": "bad", **bad})


def test_fuse_metrics_of_a_hand_made_series() -> None:
    """Maximum, seconds strictly above fuse − margin and strictly above the fuse."""
    series = [10.0, 22.9, 23.0, 23.5, 25.0, 25.1, 30.0, 5.0]
    m = fuse_metrics(series, 25.0, 2.0)
    assert (m.max_phase_a, m.over_margin_s, m.over_fuse_s) == (30.0, 4, 2)
    assert fuse_metrics([], 25.0, 2.0).max_phase_a == 0.0


def test_grid_phases_of_a_one_phase_car() -> None:
    """A 1-phase car loads L1 only; the inverter feeds a third of its power on each phase."""
    powers = grid_phase_powers((100.0, 200.0, 300.0), 3680.0, 1, 300.0, 3300.0)
    assert powers == pytest.approx((3780.0 - 1000.0, 200.0 - 1000.0, 300.0 - 1000.0))
    powers = grid_phase_powers((100.0, 200.0, 300.0), 3 * 3680.0, 3, 0.0, 0.0)
    assert powers == pytest.approx((3780.0, 3880.0, 3980.0))


def _capture(ours: Ours) -> list[SiteInput]:
    """Record the site inputs the controller gets."""
    seen: list[SiteInput] = []
    decide = ours.controller.decide

    def spy(now: datetime, site: SiteInput | None, *args: Any, **kwargs: Any) -> Any:
        assert site is not None
        seen.append(site)
        return decide(now, site, *args, **kwargs)

    ours.controller.decide = spy  # type: ignore[method-assign]
    return seen


def test_phase_currents_and_curtailment_given_to_ours() -> None:
    """At 18:40 on the fuse evening (heat pump and cooker on, car at 16 A): the phase currents
    ours gets are the PAC2200's for the site model's grid phases, car included; the E3DC's
    curtailment bit and the meter's time come along."""
    day = exogenous_day(FUSE)
    t = int(18 * HOUR + 40 * 60)
    # The site model in that second, with the car as a load on its phases.
    model = SiteModel(FUSE.pv, FUSE.house, FUSE.battery, seed=FUSE.seed, start_s=FUSE.start_s)
    while model.t_s < t:
        model.step_weather(1.0)
    assert set(model.running_appliances) == {"heat_pump", "cooker"}
    car_a, battery, pv = 16.0, -120.0, 35.0
    model.loads["wallbox"] = (car_a * 230.0,) * 3
    model.battery_override, model.pv_override = battery, pv
    expected = phase_currents(model.grid_phase_w())

    noise = Noise.draw(1, HORIZON_S + 1, IDEAL)
    rig = Rig(OURS, FUSE, IDEAL, noise, day.house_phases)
    assert isinstance(rig.strategy, Ours)
    assert rig.strategy.settings.mode == ChargeMode.FAST
    assert (rig.strategy.settings.fuse_current, rig.strategy.settings.fuse_margin) == (25.0, 2.0)
    household = day.house[t]
    assert household == pytest.approx(model.household_w)
    for second in range(t - 7, t + 1):
        rig.history.append(
            Snapshot(
                second, pv, household, household + 3 * car_a * 230.0 + battery - pv, battery,
                5.0, 3 * car_a * 230.0, (car_a, car_a, car_a), True, True, 16, 0.0, 0.0, None,
                second == t,
            )
        )  # fmt: skip
    reading = rig.reading(t)
    assert reading.grid_currents == pytest.approx([round(i, 2) for i in expected], abs=1e-9)
    assert reading.grid_currents is not None
    assert max(reading.grid_currents) > 30.0
    seen = _capture(rig.strategy)
    rig.poll(t)
    assert seen[-1].phase_currents == pytest.approx(reading.grid_currents)
    assert seen[-1].curtailed is True
    assert seen[-1].measured_at == DAY0 + timedelta(seconds=t)


def test_slow_meter_reports_and_ours_decides_on_them() -> None:
    """With a 15 s meter every site value comes from the last report (its time is the
    measurement time ours gets); ours decides on each report and on its 5 s tick; evcc keeps
    its 30 s cycle."""
    noise = Noise.draw(2, HORIZON_S + 1, Realism())
    rig = Rig(OURS, SLOW, Realism(), noise)
    evcc = Rig(BASELINES[0], SLOW, Realism(), noise)
    offset = rig.report_offset
    assert 0 <= offset < 15
    for t in range(40000, 40060):
        reported = (t - offset) % 15 == 0
        assert rig.due(t) == (reported or t % TICK_S == 0)
    assert isinstance(rig.strategy, Ours)
    assert rig.strategy.settings.stale_timeout == SLOW_METER_STALE_S
    for t in range(40000, 40040):
        snap = Snapshot(
            t, 5000.0, 500.0, float(t), 100.0, 50.0, 0.0, (0.0, 0.0, 0.0), True, False,
            0, 0.0, 0.0, None,
        )  # fmt: skip
        rig.history.append(snap)
        evcc.history.append(snap)
    last = 40039 - (40039 - offset) % 15
    reading = rig.reading(40039)
    assert reading.site_t == last
    assert abs(reading.grid_w - (last - 1)) < 100.0  # the report's value, 1 s old at its time
    assert evcc.reading(40039).site_t == last


def test_short_runs_of_the_new_days(tmp_path: Path) -> None:
    """Each new day runs (shortened); the fuse metrics and the curtailment are measured; the
    fuse day's plot shows the phase currents."""
    fuse = run_day(
        replace(FUSE, leave_s=19.5 * HOUR), (OURS, *BASELINES), optimum=False, traces=True
    )
    by = {m.kind: m for m in fuse.metrics}
    assert fuse.optimum is None
    for m in fuse.metrics:
        assert m.max_phase_a is not None
        assert m.over_margin_s is not None
        assert m.over_fuse_s is not None
        assert m.over_fuse_s <= m.over_margin_s
    original, evcc = by["original"], by["evcc"]
    # The original has no fuse limit: 16 A through the kettle and the 45 min of the cooker.
    assert original.over_fuse_s is not None
    assert original.over_fuse_s >= 2700
    assert original.max_phase_a is not None
    assert original.max_phase_a > 30.0
    # evcc's circuit (23 A) reacts within its 30 s cycle to each of the two load steps.
    assert evcc.over_margin_s is not None
    assert 0 < evcc.over_margin_s <= 2 * 45
    assert evcc.car_kwh < original.car_kwh
    table = grid_table([fuse])
    assert table is not None
    assert "fuse_evening (25 A − 2 A)" in table
    assert max(fuse.traces["phase original"]) == pytest.approx(original.max_phase_a)
    written = write_plots([fuse], tmp_path)
    if importlib.util.find_spec("matplotlib") is not None:
        assert written == [tmp_path / "fuse_evening.png"]
    text = report([fuse], 1.0, 1, Realism())
    assert "## Grid connection" in text
    assert "targets fuse_evening" not in text

    curtailed = run_day(replace(CURTAILED, leave_s=13 * HOUR), (OURS, *BASELINES), optimum=False)
    by = {m.kind: m for m in curtailed.metrics}
    # The original starts at 8 A whatever it sees: its car takes PV the inverter curtailed.
    assert by["original"].curtailed_used_kwh > 0.5
    assert all(m.max_phase_a is None for m in curtailed.metrics)

    slow = run_day(replace(SLOW, leave_s=11 * HOUR), (OURS,), optimum=False)
    assert slow.metrics[0].car_kwh > 1.0


def test_slow_meter_needs_a_stale_timeout_above_its_interval() -> None:
    """With the README's advice (twice the interval) ours never sees stale site data on
    the 15 s meter; with the default 15 s it does, between reports."""
    window = replace(SLOW, arrive_s=11 * HOUR, leave_s=11.5 * HOUR)
    for timeout, stale in ((SLOW_METER_STALE_S, False), (10.0, True)):
        scenario = replace(window, stale_timeout_s=timeout)
        noise = Noise.draw(scenario.seed, HORIZON_S + 1, Realism())
        day = exogenous_day(scenario)
        rig = Rig(OURS, scenario, Realism(), noise, day.house_phases)
        first = int(scenario.arrive_s)
        rig.attach(copy.deepcopy(day.at_arrival), [])
        for t, p, h, b, soc, curtailed in day.before[-20:]:
            rig.history.append(
                Snapshot(
                    t, p, h, h + b - p, b, soc, 0.0, (0.0, 0.0, 0.0), False, False, 0, 0.0,
                    0.0, None, curtailed,
                )
            )  # fmt: skip
        rig.run(first, int(scenario.leave_s), day.pv, day.house)
        assert isinstance(rig.strategy, Ours)
        assert (rig.strategy.reasons[Reason.SITE_STALE] > 0) == stale


def test_evcc_circuit_caps_and_releases() -> None:
    """evcc's ValidateCurrent in Fast ("now"): capped at the measured current plus what the
    circuit has left, disabled below the minimum, raised again when there is room."""
    evcc = EvccLike(EvccConfig(mode="now", circuit_max_current=23.0))

    def reading(t: float, grid: tuple[float, float, float], car: float) -> Reading:
        return Reading(
            t, 0.0, 500.0, 1000.0, 0.0, 5.0, True, car > 0, car * 690.0, (car, car, car), 16,
            0.0, 100.0, None, grid_currents=grid,
        )  # fmt: skip

    assert evcc.poll(reading(0.0, (10.0, 8.0, 8.0), 0.006)) == 13  # room 13 A
    assert evcc.poll(reading(30.0, (22.0, 20.0, 20.0), 13.0)) == 14  # 13 + (23 − 22)
    assert evcc.poll(reading(60.0, (30.0, 25.0, 25.0), 14.0)) == 7  # 14 − 7
    assert evcc.poll(reading(90.0, (31.0, 25.0, 25.0), 7.0)) == 0  # 7 − 8 < 6: disabled
    assert evcc.poll(reading(120.0, (5.0, 5.0, 5.0), 0.006)) == 16  # room again
    # Without a circuit "now" is simply the maximum.
    assert EvccLike(EvccConfig(mode="now")).poll(reading(0.0, (40.0, 40.0, 40.0), 16.0)) == 16
