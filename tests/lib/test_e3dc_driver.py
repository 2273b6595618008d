"""E3DC driver decoding over real Modbus TCP against the simulator."""

from __future__ import annotations

import pytest

from custom_components.solar_wallbox.drivers.e3dc import (
    DATA_COUNT,
    E3dcClient,
    EmergencyPower,
    EmsStatus,
    decode_data,
    decode_identity,
)
from custom_components.solar_wallbox.drivers.modbus import (
    InvalidResponse,
    ModbusConnection,
    ModbusExceptionResponse,
    WrongDevice,
)

from ..conftest import E3DC_SERIAL, SimulatedDevice


@pytest.fixture
async def client(e3dc_sim: SimulatedDevice) -> E3dcClient:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    yield E3dcClient(conn)
    await conn.close()


async def test_identify(client: E3dcClient, e3dc_sim: SimulatedDevice) -> None:
    identity = await client.identify()
    assert identity.manufacturer == "HagerEnergy GmbH"
    assert identity.model == "S10 X Compact"
    assert identity.serial == E3DC_SERIAL
    assert identity.firmware == "S10_2024_05"
    assert identity.modbus_version == "1.90"
    assert identity.register_count == 137  # 40000..40136


async def test_wrong_magic_is_wrong_device(client: E3dcClient, e3dc_sim: SimulatedDevice) -> None:
    e3dc_sim.device.wrong_magic = True
    with pytest.raises(WrongDevice, match="magic"):
        await client.identify()


async def test_power_flow_with_negative_values(
    client: E3dcClient, e3dc_sim: SimulatedDevice
) -> None:
    model = e3dc_sim.model
    model.additional_feeder_w = -300.0  # producing
    model.battery_override = -1234.0  # discharging
    data = await client.read()
    assert data.pv_power == 5000
    assert data.battery_power == -1234
    assert data.house_power == 800
    # grid = house + battery - pv + additional = 800 - 1234 - 5000 - 300
    assert data.grid_power == -5734
    assert data.additional_power == -300
    assert data.additional_production == 300
    assert data.battery_soc == 64
    assert client.connection.stats.last_poll_requests == 1
    assert e3dc_sim.server.faults.requests_total == 1


async def test_large_values_use_both_words(client: E3dcClient, e3dc_sim: SimulatedDevice) -> None:
    e3dc_sim.model.pv_override = 70_000.0  # above 65535: the high word matters
    e3dc_sim.model.house_override = 100_000.0
    data = await client.read()
    assert data.pv_power == 70_000
    assert data.grid_power == 100_000 + 2000 - 70_000


async def test_status_words_and_strings(client: E3dcClient, e3dc_sim: SimulatedDevice) -> None:
    device = e3dc_sim.device
    device.emergency_power = 1
    device.ems_status = 0b101_0011
    device.wallbox_control[2] = (1 << 0) | (1 << 3) | (1 << 5) | (1 << 12)
    device.wallbox_power_w = 7400
    device.wallbox_solar_power_w = 5100
    data = await client.read()
    assert data.emergency_power is EmergencyPower.ACTIVE
    assert data.ems_flag(EmsStatus.CHARGING_LOCKED)
    assert data.ems_flag(EmsStatus.DISCHARGING_LOCKED)
    assert not data.ems_flag(EmsStatus.EMERGENCY_POWER_POSSIBLE)
    assert data.ems_flag(EmsStatus.CURTAILMENT_ACTIVE)
    assert data.ems_flag(EmsStatus.DISCHARGE_LOCK_TIME)
    box = data.wallboxes[2]
    assert (box.present, box.charging, box.plugged, box.one_phase) == (True, True, True, True)
    assert not data.wallboxes[0].present
    assert data.wallbox_power == 7400
    assert data.wallbox_solar_power == 5100
    # DC strings: current in units of 0.01 A.
    expected = e3dc_sim.model.pv_strings()
    assert len(expected) == 2
    assert data.strings[2].power == 0
    for decoded, sim in zip(data.strings[:2], expected, strict=True):
        assert decoded.voltage == round(sim.voltage_v)
        assert decoded.current == pytest.approx(sim.current_a, abs=0.006)
        assert decoded.power == round(sim.power_w)
    assert data.strings[0].current != int(data.strings[0].current)  # the scale was applied


async def test_autarky_bytes_and_meters(client: E3dcClient, e3dc_sim: SimulatedDevice) -> None:
    data = await client.read()
    assert data.autarky == round(e3dc_sim.model.autarky_pct)
    assert data.self_consumption == round(e3dc_sim.model.self_consumption_pct)
    root = data.meters[0]
    assert root.type == 1
    assert root.installed
    assert root.power == pytest.approx(e3dc_sim.model.grid_w, abs=3)
    assert root.power < 0  # the i16 phases decode signed
    assert not any(m.installed for m in data.meters[1:])


async def test_unknown_emergency_state_is_none(
    client: E3dcClient, e3dc_sim: SimulatedDevice
) -> None:
    e3dc_sim.device.emergency_power = 9
    assert (await client.read()).emergency_power is None


async def test_not_an_e3dc_at_all(e3dc_sim: SimulatedDevice) -> None:
    """A device without the 40000 block answers with an exception."""
    from simulator.modbus_server import ModbusTcpServer, RegisterImage  # noqa: PLC0415

    async with ModbusTcpServer(RegisterImage({0: 1})) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 1)
        try:
            with pytest.raises(ModbusExceptionResponse):
                await E3dcClient(conn).identify()
        finally:
            await conn.close()


def test_decode_rejects_short_blocks() -> None:
    with pytest.raises(WrongDevice):
        decode_identity([0xE3DC] * 10)
    with pytest.raises(InvalidResponse, match="too short"):
        decode_data([0] * (DATA_COUNT - 1))


def test_decode_string_with_nul_padding() -> None:
    regs = [0xE3DC, 0x015A, 136] + [0] * 64
    regs[3:5] = [0x4533, 0x2F44]  # "E3/D"
    regs[5] = 0x4300  # "C" + NUL
    identity = decode_identity(regs)
    assert identity.manufacturer == "E3/DC"
    assert identity.modbus_version == "1.90"
    assert identity.serial == ""
