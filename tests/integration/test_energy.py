"""Energy integration: unit rules, a known power profile end to end, and restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.solar_wallbox.energy import EnergyIntegrator

from ..conftest import SimulatedDevice
from ..harness import e3dc_entry, setup_entry

P = "sensor.e3dc_s10_x_compact_"


def test_trapezoid_and_gaps() -> None:
    integ = EnergyIntegrator(max_gap_s=6)
    assert not integ.add(0, 1000)  # first sample only anchors
    assert integ.add(2, 3000)  # (1000 + 3000) / 2 W for 2 s = 4000 Ws
    assert integ.total_kwh == pytest.approx(4000 / 3_600_000)
    assert not integ.add(2, 9999)  # same timestamp again: ignored
    assert not integ.add(10, 3000)  # 8 s gap > 6 s: not bridged
    assert integ.total_kwh == pytest.approx(4000 / 3_600_000)
    assert integ.add(12, 3000)
    assert integ.total_kwh == pytest.approx(10000 / 3_600_000)


def test_negative_power_and_missing_values() -> None:
    integ = EnergyIntegrator(max_gap_s=10)
    integ.add(0, -500)
    integ.add(2, -500)
    assert integ.total_kwh == 0  # never decreases
    integ.add(4, None)  # a missing value breaks the segment
    assert not integ.add(6, 1000)
    assert integ.add(8, 1000)
    assert integ.total_kwh == pytest.approx(2000 / 3_600_000)


class Clock:
    """Reading timestamps under the test's control."""

    def __init__(self) -> None:
        # Start after the reading taken during setup, so no sample goes back in time.
        self.start = dt_util.utcnow() + timedelta(seconds=1)
        self.now = self.start

    def __call__(self) -> datetime:
        return self.now


async def _run_profile(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    sim: SimulatedDevice,
    clock: Clock,
    start_s: int,
    end_s: int,
    interval_s: int,
) -> None:
    """Poll while PV ramps linearly from 0 to 6000 W over 3600 s (house 800 W, no battery)."""
    coordinator = entry.runtime_data.coordinator
    coordinator.clock = clock
    for t in range(start_s, end_s + 1, interval_s):
        sim.model.pv_override = 6000.0 * t / 3600
        clock.now = clock.start + timedelta(seconds=t)
        await coordinator.async_refresh()
    await hass.async_block_till_done()


# Exact integrals of the ramp: PV 3 kWh; grid = 800 - pv crosses zero at t = 480 s.
PV_KWH = 3.0
IMPORT_KWH = 0.5 * 800 * 480 / 3_600_000
EXPORT_KWH = 0.5 * 5200 * 3120 / 3_600_000
HOUSE_KWH = 0.8


def _kwh(hass: HomeAssistant, key: str) -> float:
    state = hass.states.get(P + key)
    assert state is not None
    return float(state.state)


@pytest.fixture
def ramp_sim(e3dc_sim: SimulatedDevice) -> SimulatedDevice:
    e3dc_sim.model.battery_override = 0.0
    e3dc_sim.model.pv_override = 0.0
    return e3dc_sim


async def test_known_profile_within_half_a_percent(
    hass: HomeAssistant, ramp_sim: SimulatedDevice
) -> None:
    entry = e3dc_entry(ramp_sim.port, scan_interval=10)
    await setup_entry(hass, entry)
    clock = Clock()
    await _run_profile(hass, entry, ramp_sim, clock, 0, 3600, 10)
    assert _kwh(hass, "pv_energy") == pytest.approx(PV_KWH, rel=0.005)
    assert _kwh(hass, "grid_import_energy") == pytest.approx(IMPORT_KWH, rel=0.005)
    assert _kwh(hass, "grid_export_energy") == pytest.approx(EXPORT_KWH, rel=0.005)
    assert _kwh(hass, "house_energy") == pytest.approx(HOUSE_KWH, rel=0.005)
    assert _kwh(hass, "battery_charge_energy") == 0
    state = hass.states.get(P + "pv_energy")
    assert state is not None
    assert state.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"


async def test_outage_is_not_integrated(hass: HomeAssistant, ramp_sim: SimulatedDevice) -> None:
    entry = e3dc_entry(ramp_sim.port, scan_interval=10)
    await setup_entry(hass, entry)
    clock = Clock()
    await _run_profile(hass, entry, ramp_sim, clock, 0, 1800, 10)
    before = _kwh(hass, "pv_energy")
    # The device is unreachable for 10 minutes.
    await ramp_sim.server.stop()
    clock.now = clock.start + timedelta(seconds=1810)
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(P + "pv_energy").state == STATE_UNAVAILABLE
    await ramp_sim.restart()
    await asyncio.sleep(entry.runtime_data.coordinator.client.connection.retry_in)  # back-off
    await _run_profile(hass, entry, ramp_sim, clock, 2400, 3600, 10)
    # PV energy of the two polled windows only: 0..1800 s and 2400..3600 s.
    expected = (0.5 * 3000 * 1800 + (4000 + 6000) / 2 * 1200) / 3_600_000
    assert before == pytest.approx(0.5 * 3000 * 1800 / 3_600_000, rel=0.005)
    assert _kwh(hass, "pv_energy") == pytest.approx(expected, rel=0.005)


async def test_reload_keeps_totals_without_a_jump(
    hass: HomeAssistant, ramp_sim: SimulatedDevice
) -> None:
    entry = e3dc_entry(ramp_sim.port, scan_interval=10)
    await setup_entry(hass, entry)
    clock = Clock()
    await _run_profile(hass, entry, ramp_sim, clock, 0, 1800, 10)
    before = _kwh(hass, "pv_energy")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _kwh(hass, "pv_energy") == before
    await _run_profile(hass, entry, ramp_sim, clock, 1800, 3600, 10)
    assert _kwh(hass, "pv_energy") == pytest.approx(PV_KWH, rel=0.005)


async def test_restored_after_home_assistant_restart(
    hass: HomeAssistant, ramp_sim: SimulatedDevice
) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(P + "pv_energy", "1234.5"),
                {"native_value": 1234.5, "native_unit_of_measurement": "kWh"},
            ),
            (
                State(P + "grid_import_energy", "unknown"),
                {"native_value": None, "native_unit_of_measurement": "kWh"},
            ),
        ],
    )
    entry = e3dc_entry(ramp_sim.port, scan_interval=10)
    await setup_entry(hass, entry)
    assert _kwh(hass, "pv_energy") == 1234.5
    assert _kwh(hass, "grid_import_energy") == 0
    clock = Clock()
    await _run_profile(hass, entry, ramp_sim, clock, 0, 3600, 10)
    assert _kwh(hass, "pv_energy") == pytest.approx(1234.5 + PV_KWH, rel=1e-5)


def test_counter_guard_holds_back_garbage_and_accepts_resets() -> None:
    from custom_components.solar_wallbox.energy import CounterGuard  # noqa: PLC0415

    guard = CounterGuard()
    assert guard.check(0.0, 100.0) == 100.0  # first reading: the baseline
    assert guard.check(2.0, 100.2) == 100.2  # normal increase
    assert guard.check(4.0, 4_000_000.0) == 100.2  # a garbled jump is held back
    assert guard.check(6.0, 55.0) == 100.2  # a garbled drop too
    assert guard.check(8.0, -3.0) == 100.2  # never negative
    assert guard.check(10.0, None) is None  # not available: unknown, reference kept
    assert guard.check(12.0, 100.3) == 100.3
    assert guard.check(14.0, 0.2) == 0.2  # a reset to near zero (new session, meter cleared)
    # A day later the counter may have risen by what 1 MW could deliver.
    assert guard.check(14.0 + 86400, 20_000.0) == 20_000.0
    # A consistent new level (meter replaced) is accepted after three readings.
    assert guard.check(86500.0, 7000.0) == 20_000.0
    assert guard.check(86502.0, 7000.1) == 20_000.0
    assert guard.check(86504.0, 7000.2) == 7000.2
    assert guard.check(86506.0, 7000.3) == 7000.3
    # Inconsistent garbage never builds up to acceptance.
    for i, junk in enumerate((9e9, 3.0e6, 8e12, 5e5, 77e9)):
        assert guard.check(86508.0 + 2 * i, junk) == 7000.3


def test_integrator_skips_implausible_power() -> None:
    integrator = EnergyIntegrator(max_gap_s=60)
    integrator.add(0.0, 1000.0)
    integrator.add(3600.0 / 60, 1000.0)  # one minute at 1 kW
    before = integrator.total_kwh
    assert not integrator.add(120.0, 2.1e9)  # garbage: a gap, not 35 MWh
    assert integrator.total_kwh == before
    assert not integrator.add(180.0, 1000.0)  # restarts the segment
    assert integrator.add(240.0, 1000.0)
    assert integrator.total_kwh == pytest.approx(before + 1000 / 60 / 1000)
