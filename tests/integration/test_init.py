"""End to end: an E3DC entry against the simulator over Modbus TCP."""

from __future__ import annotations

import asyncio
import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.compat import device_by_identifier
from custom_components.solar_wallbox.const import DOMAIN
from custom_components.solar_wallbox.diagnostics import async_get_config_entry_diagnostics

from ..conftest import E3DC_SERIAL, SimulatedDevice
from ..harness import e3dc_entry, setup_entry

P = "sensor.e3dc_s10_x_compact_"
B = "binary_sensor.e3dc_s10_x_compact_"


async def poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Run one poll of the entry's coordinator, as its timer would."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_states_equal_the_simulator(hass: HomeAssistant, e3dc_sim: SimulatedDevice) -> None:
    e3dc_sim.device.emergency_power = 2
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    expected = {
        "pv_power": "5000",
        "battery_power": "2000",
        "battery_charge_power": "2000",
        "battery_discharge_power": "0",
        "house_power": "800",
        "grid_power": "-2200",
        "grid_import_power": "0",
        "grid_export_power": "2200",
        "additional_generation_power": "0",
        "battery_state_of_charge": "64",
        "emergency_power": "not_active",
        "autarky": str(round(e3dc_sim.model.autarky_pct)),
        "self_consumption": str(round(e3dc_sim.model.self_consumption_pct)),
        "string_1_power": str(round(e3dc_sim.model.pv_strings()[0].power_w)),
        "power_meter_0_power": "-2200",
    }
    for key, value in expected.items():
        assert state(hass, P + key) == value, key
    meter = hass.states.get(P + "power_meter_0_power")
    assert meter is not None
    assert meter.attributes["meter_type"] == "root"
    assert meter.attributes["unit_of_measurement"] == "W"
    assert state(hass, B + "emergency_power_possible") == "on"
    assert state(hass, B + "battery_charging_locked") == "off"
    # Uninstalled meters and absent E3DC wallboxes create no entities.
    assert hass.states.get(P + "power_meter_1_power") is None
    assert hass.states.get(B + "e3dc_wallbox_0_charging") is None
    assert hass.states.get(P + "e3dc_wallbox_power") is None


async def test_disabled_by_default_and_device_info(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    registry = er.async_get(hass)
    for entity_id in (P + "string_1_voltage", P + "string_3_power", P + "power_meter_0_power_l1"):
        reg = registry.async_get(entity_id)
        assert reg is not None, entity_id
        assert reg.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    device = device_by_identifier(dr.async_get(hass), (DOMAIN, E3DC_SERIAL), entry.entry_id)
    assert device is not None
    assert device.manufacturer == "HagerEnergy GmbH"
    assert device.model == "S10 X Compact"
    assert device.serial_number == E3DC_SERIAL
    assert device.sw_version == "S10_2024_05"


async def test_wallbox_words_create_entities(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    e3dc_sim.device.wallbox_control[0] = (1 << 0) | (1 << 5)
    e3dc_sim.device.wallbox_power_w = 3700
    await setup_entry(hass, e3dc_entry(e3dc_sim.port))
    assert state(hass, B + "e3dc_wallbox_0_plugged") == "on"
    assert state(hass, B + "e3dc_wallbox_0_charging") == "off"
    assert state(hass, P + "e3dc_wallbox_power") == "3700"
    assert state(hass, P + "e3dc_wallbox_solar_power") == "0"


async def test_another_e3dc_at_the_address_stops_setup(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    """A different E3DC (other serial) at the stored address never takes over the entry."""
    e3dc_sim.device.serial = "S10-SOMEONE-ELSE"
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    await asyncio.sleep(0.05)
    assert e3dc_sim.server.connection_count == 0  # the connection was closed


async def test_values_follow_the_device(hass: HomeAssistant, e3dc_sim: SimulatedDevice) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    e3dc_sim.model.pv_override = 1000.0
    e3dc_sim.model.battery_override = -1500.0
    await poll(hass, entry)
    assert state(hass, P + "pv_power") == "1000"
    assert state(hass, P + "battery_discharge_power") == "1500"
    assert state(hass, P + "grid_power") == str(800 - 1500 - 1000)


async def test_unavailable_and_back_logged_once(
    hass: HomeAssistant,
    e3dc_sim: SimulatedDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    connection = entry.runtime_data.coordinator.client.connection
    await e3dc_sim.server.stop()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for _ in range(4):
            await poll(hass, entry)
            assert state(hass, P + "pv_power") == STATE_UNAVAILABLE
            assert state(hass, B + "emergency_power_possible") == STATE_UNAVAILABLE
        lost = [r for r in caplog.records if "Error fetching" in r.getMessage()]
        assert len(lost) == 1
        assert lost[0].levelno == logging.ERROR
        await e3dc_sim.restart()
        await asyncio.sleep(connection.retry_in + 0.05)  # real time: the back-off
        await poll(hass, entry)
        await poll(hass, entry)
    assert state(hass, P + "pv_power") == "5000"
    back = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(back) == 1
    assert connection.stats.reconnects >= 1


async def test_setup_retries_while_unreachable(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    port = e3dc_sim.port
    await e3dc_sim.server.stop()
    entry = e3dc_entry(port)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_other_device_at_the_address_stops_setup(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    e3dc_sim.device.wrong_magic = True
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_poll_with_modbus_exception_marks_unavailable(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    e3dc_sim.server.faults.exception_code = 4
    await poll(hass, entry)
    assert state(hass, P + "pv_power") == STATE_UNAVAILABLE
    assert "refused" in str(entry.runtime_data.coordinator.last_exception)
    e3dc_sim.server.faults.exception_code = None
    await poll(hass, entry)
    assert state(hass, P + "pv_power") == "5000"


async def test_unload_closes_the_connection(hass: HomeAssistant, e3dc_sim: SimulatedDevice) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    assert e3dc_sim.server.connection_count == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(0.05)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert e3dc_sim.server.connection_count == 0


async def test_diagnostics_are_redacted(hass: HomeAssistant, e3dc_sim: SimulatedDevice) -> None:
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    diag = await async_get_config_entry_diagnostics(hass, entry)
    text = repr(diag)
    assert "127.0.0.1" not in text
    assert E3DC_SERIAL not in text
    assert diag["identity"]["model"] == "S10 X Compact"
    assert diag["coordinator"]["transport"]["requests"] >= 2
    assert diag["last_reading"]["data"]["pv_power"] == 5000
    assert diag["device_type"] == "e3dc"


async def test_entities_of_a_removed_wallbox_are_removed(
    hass: HomeAssistant, e3dc_sim: SimulatedDevice
) -> None:
    """Stale entities: an E3DC wallbox that is gone loses its entities at the next setup,
    disabled ones included; everything else stays."""
    e3dc_sim.device.wallbox_control[0] = 1 << 0
    entry = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, entry)
    registry = er.async_get(hass)
    count = len(er.async_entries_for_config_entry(registry, entry.entry_id))
    assert registry.async_get(B + "e3dc_wallbox_0_plugged") is not None
    assert registry.async_get(P + "e3dc_wallbox_power") is not None
    assert registry.async_get(P + "power_meter_0_power_l1") is not None  # disabled by default
    e3dc_sim.device.wallbox_control[0] = 0
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    for entity_id in (
        B + "e3dc_wallbox_0_plugged",
        B + "e3dc_wallbox_0_charging",
        P + "e3dc_wallbox_power",
        P + "e3dc_wallbox_solar_power",
    ):
        assert registry.async_get(entity_id) is None, entity_id
    assert len(er.async_entries_for_config_entry(registry, entry.entry_id)) == count - 4
    assert registry.async_get(P + "power_meter_0_power_l1") is not None
    assert state(hass, P + "pv_power") == "5000"


async def test_an_entry_without_a_device_type_can_be_removed(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad data in an entry never breaks deleting it (no exception from our callback)."""
    entry = MockConfigEntry(domain=DOMAIN, title="damaged", data={"device_type": "toaster"})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False
    assert hass.config_entries.async_get_entry(entry.entry_id) is None
    assert "remove callback" not in caplog.text
    assert "names no known device type" in caplog.text
