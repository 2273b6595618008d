"""Value functions and error mapping that the end-to-end tests do not reach."""

from __future__ import annotations

from custom_components.solar_wallbox.coordinator import error_translation_key
from custom_components.solar_wallbox.devices import e3dc
from custom_components.solar_wallbox.drivers.e3dc import DATA_ADDRESS, DATA_COUNT, decode_data
from custom_components.solar_wallbox.drivers.modbus import (
    CannotConnect,
    InvalidResponse,
    ModbusExceptionResponse,
    RequestTimeout,
    WrongDevice,
)


def _data_with_meter(meter_type: int, phases: tuple[int, int, int]):
    regs = [0] * DATA_COUNT
    base = 40104 - DATA_ADDRESS
    regs[base] = meter_type
    regs[base + 1 : base + 4] = [p & 0xFFFF for p in phases]
    return decode_data(regs)


def test_meter_phase_values_and_type_names() -> None:
    data = _data_with_meter(4, (100, -200, 300))
    sensors = {d.key: d for d in e3dc.meter_sensors(data)}
    assert sensors["meter_0_power"].value_fn(data) == 200
    assert sensors["meter_0_power_l2"].value_fn(data) == -200
    assert sensors["meter_0_power_l3"].value_fn(data) == 300
    assert sensors["meter_0_power"].attrs_fn(data) == {"meter_type": "external_consumption"}
    odd = _data_with_meter(42, (0, 0, 0))
    assert e3dc.meter_sensors(odd)[0].attrs_fn(odd) == {"meter_type": "unknown_42"}


def test_error_translation_keys() -> None:
    assert error_translation_key(RequestTimeout("x")) == "timeout"
    assert error_translation_key(CannotConnect("x")) == "cannot_connect"
    assert error_translation_key(ModbusExceptionResponse(2, 0, 1)) == "modbus_exception"
    assert error_translation_key(ModbusExceptionResponse(11, 0, 1)) == "gateway_error"
    assert error_translation_key(WrongDevice("x")) == "wrong_device"
    assert error_translation_key(InvalidResponse("x")) == "invalid_response"
