"""The Amtron in Home Assistant against the simulated charger and car."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_MAX_CURRENT,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
)
from simulator.amtron import AmtronDevice, create_server
from simulator.car import CarConfig

from ..conftest import SimulatedDevice, pinned_model
from ..harness import setup_entry

S = "sensor.amtron_"
B = "binary_sensor.amtron_"
LIMIT = "number.amtron_current_limit"


async def _amtron(firmware: str = "5.22") -> SimulatedDevice:
    model = pinned_model()
    device = AmtronDevice(model, firmware=firmware)
    server = create_server(device)
    await server.start()
    return SimulatedDevice(model, device, server)


@pytest.fixture
async def charger() -> AsyncIterator[SimulatedDevice]:
    sim = await _amtron()
    yield sim
    await sim.server.stop()
    # The integration never needed a second connection to the charger.
    assert sim.server.faults.connections_refused == 0


def amtron_entry(port: int, **options: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Mennekes Amtron CC612_2S0R_CC",
        unique_id=f"127.0.0.1:{port}:255",
        data={
            CONF_DEVICE_TYPE: "amtron",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_UNIT_ID: 255,
        },
        options={CONF_SCAN_INTERVAL: 2, CONF_MAX_CURRENT: 16, **options},
    )


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def _set_limit(hass: HomeAssistant, value: float, entity_id: str = LIMIT) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def test_add_through_the_ui(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "amtron"}
    )
    assert result["step_id"] == "amtron"
    unit = next(k for k in result["data_schema"].schema if str(k) == CONF_UNIT_ID)
    assert unit.default() == 255
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: charger.port, CONF_UNIT_ID: 255}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Mennekes Amtron CC612_2S0R_CC"
    assert result["options"] == {CONF_SCAN_INTERVAL: 2, CONF_MAX_CURRENT: 16}
    await hass.async_block_till_done()
    assert _state(hass, S + "charge_point_status") == "available"


async def test_not_an_amtron(hass: HomeAssistant, e3dc_sim: SimulatedDevice) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "amtron"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: e3dc_sim.port, CONF_UNIT_ID: 255}
    )
    assert result["errors"] == {"base": "not_amtron"}


async def test_charge_a_car_at_a_set_current(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    assert _state(hass, B + "car_connected") == "off"
    assert _state(hass, S + "vehicle_state") == "no_vehicle"
    charger.device.plug_in(CarConfig(tag="  04A1B2C3"))
    charger.model.step(3)
    await _set_limit(hass, 10)
    assert charger.device.registers()[1000] == 10
    assert _state(hass, LIMIT) == "10"  # read back from the charger
    for _ in range(10):  # the car follows within its delay and ramp (5 s)
        charger.model.step(1)
    await _poll(hass, entry)
    assert _state(hass, B + "car_connected") == "on"
    assert _state(hass, B + "charging") == "on"
    assert _state(hass, S + "vehicle_state") == "charging"
    assert _state(hass, S + "charge_point_status") == "charging"
    assert float(_state(hass, S + "charging_power")) == pytest.approx(3 * 230 * 10, rel=0.02)
    assert float(_state(hass, S + "current_l1")) == pytest.approx(10, abs=0.1)
    assert _state(hass, S + "active_phases") == "3"
    assert _state(hass, S + "rfid_tag") == "04A1B2C3"
    assert float(_state(hass, S + "session_energy")) >= 0
    assert _state(hass, S + "session_start") not in ("unknown", STATE_UNAVAILABLE)
    # Pause: 0 A, the car stops drawing.
    await _set_limit(hass, 0)
    for _ in range(10):
        charger.model.step(1)
    await _poll(hass, entry)
    assert float(_state(hass, S + "charging_power")) == 0


async def test_invalid_values_are_refused_without_writing(
    hass: HomeAssistant, charger: SimulatedDevice
) -> None:
    await setup_entry(hass, amtron_entry(charger.port))
    charger.device.writes.clear()
    for value, key in ((3, "invalid_current"), (7.5, "whole_number")):
        with pytest.raises(ServiceValidationError) as info:
            await _set_limit(hass, value)
        assert info.value.translation_key == key
    with pytest.raises(ServiceValidationError):
        await _set_limit(hass, 20)  # above the 16 A ceiling: Home Assistant's range check
    assert charger.device.writes == []


async def test_ceiling_option_for_22_kw(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    charger.device.operator_limit_a = 32
    await setup_entry(hass, amtron_entry(charger.port, max_current=32))
    state = hass.states.get(LIMIT)
    assert state is not None
    assert state.attributes["max"] == 32
    await _set_limit(hass, 25)
    assert charger.device.registers()[1000] == 25


async def test_link_loss_gives_a_translated_error(
    hass: HomeAssistant, charger: SimulatedDevice
) -> None:
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    await charger.server.stop()
    with pytest.raises(HomeAssistantError) as info:
        await _set_limit(hass, 8)
    assert info.value.translation_key == "write_failed"
    assert _state(hass, LIMIT) == STATE_UNAVAILABLE


async def test_failsafe_settings(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    await setup_entry(hass, amtron_entry(charger.port))
    await _set_limit(hass, 8, "number.amtron_safe_current")
    await _set_limit(hass, 120, "number.amtron_timeout")
    image = charger.device.registers()
    assert (image[131], image[132]) == (8, 120)
    assert _state(hass, "number.amtron_safe_current") == "8"
    assert _state(hass, "number.amtron_timeout") == "120"
    with pytest.raises(ServiceValidationError):
        await _set_limit(hass, 4, "number.amtron_safe_current")


async def test_errors_and_problem_sensors(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    assert _state(hass, B + "charger_problem") == "off"
    charger.device.error_bits = (1 << 0) | (1 << 6)
    await _poll(hass, entry)
    problem = hass.states.get(B + "charger_problem")
    assert problem is not None
    assert problem.state == "on"
    assert problem.attributes["errors"] == ["rcmb_triggered", "contactor_weld"]
    assert _state(hass, B + "residual_current_tripped") == "on"
    assert _state(hass, B + "contactor_welded") == "on"


async def test_old_firmware_sets_up_quietly(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await _amtron(firmware="5.12")
    try:
        entry = amtron_entry(sim.port)
        await setup_entry(hass, entry)
        assert hass.states.get(S + "voltage_l1") is None
        assert hass.states.get(B + "plug_locked") is None
        assert _state(hass, S + "charge_point_status") == "available"
        caplog.clear()
        for _ in range(5):
            await _poll(hass, entry)
        assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
        assert entry.runtime_data.coordinator.last_update_success
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await asyncio.sleep(0)
        await sim.server.stop()


async def test_options_include_the_ceiling(hass: HomeAssistant, charger: SimulatedDevice) -> None:
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "device",
        "surplus",
        "grid_connection",
        "vehicle_battery",
        "add_vehicle",
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "device"}
    )
    assert {str(k) for k in result["data_schema"].schema} == {CONF_SCAN_INTERVAL, CONF_MAX_CURRENT}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 5, CONF_MAX_CURRENT: 32}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 5, CONF_MAX_CURRENT: 32}
    await hass.async_block_till_done()


async def _options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def test_surplus_options_validate_links(
    hass: HomeAssistant, charger: SimulatedDevice, e3dc_sim: SimulatedDevice
) -> None:
    from ..harness import e3dc_entry  # noqa: PLC0415

    e3dc = e3dc_entry(e3dc_sim.port)
    await setup_entry(hass, e3dc)
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    result = await _options_step(hass, entry, "surplus")
    assert result["step_id"] == "surplus"
    first = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    assert first["grid_power_sign"] == "import_positive"
    assert len(result["data_schema"].schema) == 11  # three pages, not one form of 26 fields
    # The E3DC cannot be the residual current monitor.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**first, "rcm_entry": e3dc.entry_id}
    )
    assert result["errors"] == {"rcm_entry": "wrong_rcm_entry"}
    page1 = {**first, "grid_entry": e3dc.entry_id, "battery_entry": e3dc.entry_id}
    result = await hass.config_entries.options.async_configure(result["flow_id"], page1)
    assert result["step_id"] == "surplus_car"
    car = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    assert car["phases"] == "3"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**car, "phases": "1"}
    )
    assert result["step_id"] == "surplus_timing"
    second = {str(k): k.default() for k in result["data_schema"].schema if callable(k.default)}
    assert second["start_energy"] == 2.0
    # 4 A is no valid idle current.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**second, "idle_current": 4}
    )
    assert result["errors"] == {"idle_current": "current_below_minimum"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**second, "start_energy": 10}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["grid_entry"] == e3dc.entry_id
    manager = entry.runtime_data.charging
    assert manager.settings.phases == 1
    assert manager.settings.start_energy == 10


async def test_vehicle_profiles_in_the_options(
    hass: HomeAssistant, charger: SimulatedDevice
) -> None:
    entry = amtron_entry(charger.port)
    await setup_entry(hass, entry)
    result = await _options_step(hass, entry, "add_vehicle")
    flow_id = result["flow_id"]
    result = await hass.config_entries.options.async_configure(
        flow_id, {"name": " ", "tag": "04A1"}
    )
    assert result["errors"] == {"base": "vehicle_incomplete"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {"name": "Maria", "tag": "04A1", "min_current": 16, "max_current": 8}
    )
    assert result["errors"] == {"base": "min_above_max"}
    result = await hass.config_entries.options.async_configure(
        flow_id,
        {
            "name": "Maria",
            "tag": " 04A1 ",
            "mode": "min_pv",
            "min_current": 8,
            "max_current": 16,
            "session_energy_limit": 20,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    [profile] = entry.runtime_data.charging.settings.vehicles
    assert (profile.name, profile.tag, profile.session_energy_limit) == ("Maria", "04A1", 20000)
    result = await _options_step(hass, entry, "add_vehicle")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "Max", "tag": "99"}
    )
    await hass.async_block_till_done()
    # Change Maria: the form comes filled in, and her mode goes back to the select's.
    result = await _options_step(hass, entry, "edit_vehicle")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"vehicle": "04A1"}
    )
    assert result["step_id"] == "add_vehicle"
    assert "Maria (04A1)" in result["description_placeholders"]["vehicles"]
    suggested = {
        str(k): (k.description or {}).get("suggested_value") for k in result["data_schema"].schema
    }
    assert suggested["name"] == "Maria"
    assert suggested["mode"] == "min_pv"
    assert suggested["session_energy_limit"] == 20
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"name": "Maria", "tag": "04A1B2", "mode": "follow"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    profiles = {v.name: v for v in entry.runtime_data.charging.settings.vehicles}
    assert profiles["Maria"].tag == "04A1B2"  # replaced, not added
    assert profiles["Maria"].mode is None
    assert len(profiles) == 2
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "remove_vehicle" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "remove_vehicle"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"vehicles": ["04A1B2"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert [v.name for v in entry.runtime_data.charging.settings.vehicles] == ["Max"]
