"""PAC2200 end to end in Home Assistant against the simulated meter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
)

from ..conftest import SimulatedDevice
from ..harness import setup_entry

S = "sensor.pac2200_"


def pac_entry(port: int, unique_id: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Siemens PAC2200",
        unique_id=unique_id,
        data={
            CONF_DEVICE_TYPE: "pac2200",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_UNIT_ID: 1,
        },
        options={CONF_SCAN_INTERVAL: 2},
    )


async def _added(hass: HomeAssistant, sim: SimulatedDevice) -> MockConfigEntry:
    from custom_components.solar_wallbox.config_flow import identify_device  # noqa: PLC0415
    from custom_components.solar_wallbox.const import DeviceType  # noqa: PLC0415

    found = await identify_device(
        DeviceType.PAC2200, {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_UNIT_ID: 1}
    )
    entry = pac_entry(sim.port, found.unique_id)
    await setup_entry(hass, entry)
    return entry


def _value(hass: HomeAssistant, key: str) -> float:
    state = hass.states.get(S + key)
    assert state is not None, key
    return float(state.state)


async def test_values_match_the_meter(hass: HomeAssistant, pac_sim: SimulatedDevice) -> None:
    entry = await _added(hass, pac_sim)
    model = pac_sim.model
    assert _value(hass, "grid_power") == pytest.approx(model.grid_w, abs=1)
    assert model.grid_w < 0
    assert _value(hass, "grid_import_power") == 0
    assert _value(hass, "grid_export_power") == pytest.approx(-model.grid_w, abs=1)
    assert _value(hass, "frequency") == pytest.approx(50, abs=0.5)
    assert 200 < _value(hass, "voltage_l1_n") < 260
    phases = model.grid_phase_w()
    for i, phase_w in enumerate(phases, start=1):
        assert _value(hass, f"active_power_l{i}") == pytest.approx(phase_w, abs=1)
    # Counters are kWh for the Energy dashboard.
    energy = hass.states.get(S + "grid_import_energy")
    assert energy is not None
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"
    assert energy.attributes["device_class"] == "energy"
    # The simulated meter offers a serial number through FC 43/14.
    assert entry.unique_id.startswith("pac2200_")


async def test_energy_counters_follow_the_meter(
    hass: HomeAssistant, pac_sim: SimulatedDevice
) -> None:
    entry = await _added(hass, pac_sim)
    start = _value(hass, "grid_export_energy")
    pac_sim.model.battery_enabled = False
    pac_sim.model.step(3600)  # one hour of 2.2 kW... export
    coordinator = entry.runtime_data.coordinator
    later = coordinator.clock() + timedelta(hours=1)
    coordinator.clock = lambda: later  # the reading is an hour later, as in reality
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    exported_kwh = _value(hass, "grid_export_energy") - start
    assert exported_kwh == pytest.approx(-pac_sim.model.grid_w / 1000, rel=0.05)


async def test_noisy_entities_disabled_by_default(
    hass: HomeAssistant, pac_sim: SimulatedDevice
) -> None:
    await _added(hass, pac_sim)
    registry = er.async_get(hass)
    for entity_id in (
        S + "voltage_l1_l2",
        S + "reactive_power_l1",
        S + "grid_import_energy_t1",
        S + "apparent_energy_t2",
    ):
        entry = registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(S + "voltage_l1_n") is not None
