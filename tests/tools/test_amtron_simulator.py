"""The simulated Amtron charger and its car: register encodings read raw over Modbus TCP,
charger behaviour and the car model (decoded independently of the driver)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import pytest

from custom_components.solar_wallbox.drivers.modbus import (
    CannotConnect,
    ModbusConnection,
    ModbusExceptionResponse,
)
from simulator.__main__ import DEVICES, build_parser, main
from simulator.amtron import (
    AVAILABLE,
    CHARGING,
    FINISHING,
    PREPARING,
    SUSPENDED_EV,
    SUSPENDED_EVSE,
    UNAVAILABLE,
    AmtronDevice,
    bcd_time,
    configure_from_args,
    create_server,
    encode_error_bits,
)
from simulator.car import Car, CarConfig, IecState
from simulator.e3dc import E3dcDevice
from simulator.modbus_server import ModbusTcpServer
from simulator.model import SiteModel


def text(words: list[int]) -> bytes:
    """Raw bytes of ASCII registers, first character in the high byte."""
    return b"".join(bytes((w >> 8, w & 0xFF)) for w in words)


def u32(words: list[int]) -> int:
    """High word first."""
    return (words[0] << 16) | words[1]


def steps(model: SiteModel, seconds: float, dt: float = 0.25) -> None:
    for _ in range(round(seconds / dt)):
        model.step(dt)


@pytest.fixture
def model() -> SiteModel:
    model = SiteModel.scenario("constant", start_s=14 * 3600 + 35 * 60 + 7)
    model.pv_override = 8000.0
    model.house_override = 400.0
    return model


@pytest.fixture
def device(model: SiteModel) -> AmtronDevice:
    return AmtronDevice(model)


@pytest.fixture
async def server(device: AmtronDevice) -> AsyncIterator[ModbusTcpServer]:
    async with create_server(device) as srv:
        yield srv


@pytest.fixture
async def conn(server: ModbusTcpServer) -> AsyncIterator[ModbusConnection]:
    connection = ModbusConnection("127.0.0.1", server.port, 255, timeout=2.0)
    yield connection
    await connection.close()


# Encodings -----------------------------------------------------------------------------


async def test_identity_registers(conn: ModbusConnection) -> None:
    assert await conn.read_holding_registers(100, 2) == [0x352E, 0x3232]  # "5.22"
    assert text(await conn.read_holding_registers(120, 2)) == b"1.07"
    model_words = await conn.read_holding_registers(142, 10)
    assert text(model_words) == b"CC612_2S0R_CC".ljust(20, b"\0")


async def test_any_unit_id_is_answered(server: ModbusTcpServer) -> None:
    for unit in (1, 255):
        connection = ModbusConnection("127.0.0.1", server.port, unit)
        assert await connection.read_holding_registers(100, 2) == [0x352E, 0x3232]
        await connection.close()


async def test_error_codes_in_the_spec_order(device: AmtronDevice, conn: ModbusConnection) -> None:
    device.error_bits = 0x00000041
    assert await conn.read_holding_registers(111, 2) == [0x4100, 0x0000]
    device.error_bits = 1 << 21 | 1 << 8
    assert await conn.read_holding_registers(111, 2) == [0x0001, 0x2000]
    assert encode_error_bits(0x12345678) == [0x7856, 0x3412]
    assert await conn.read_holding_registers(105, 6) == [0] * 6  # only 111–112 defined


async def test_32_bit_high_word_first(device: AmtronDevice, conn: ModbusConnection) -> None:
    device.meter_wh = 73536.0
    assert await conn.read_holding_registers(200, 2) == [0x0001, 0x1F40]
    assert await conn.read_holding_registers(218, 2) == [0x0001, 0x1F40]


async def test_session_registers(
    model: SiteModel, device: AmtronDevice, conn: ModbusConnection
) -> None:
    no_session = [0] * 14
    no_session[712 - 705] = 6  # the minimum current
    assert await conn.read_holding_registers(705, 14) == no_session
    device.plug_in(CarConfig(tag="ABC123", evccid="0A1B2C3D4E5F"))
    steps(model, 10.0)
    regs = await conn.read_holding_registers(705, 42)
    at = {705 + i: w for i, w in enumerate(regs)}
    assert (at[707], at[708]) == (0x0014, 0x3507)  # BCD 14:35:07, high word first
    assert at[709] == 10
    assert u32([at[718], at[719]]) == 10
    assert at[705] == round(device.session_energy_wh)
    assert u32([at[716], at[717]]) == round(device.session_energy_wh)
    assert at[706] == 16  # min(HEMS 32, operator limit 16, cable 32)
    assert at[712] == 6
    assert at[715] == 32
    assert text(regs[720 - 705 : 730 - 705]) == b"              ABC123"  # left-padded
    assert text(regs[741 - 705 : 747 - 705]) == b"0A1B2C3D4E5F"
    device.unplug()
    assert text(await conn.read_holding_registers(720, 10)) == b" " * 20
    assert await conn.read_holding_registers(741, 6) == [0] * 6
    steps(model, 5.0)
    assert (await conn.read_holding_registers(709, 1))[0] == 10  # kept after unplugging


async def test_16_bit_session_values_saturate(device: AmtronDevice, conn: ModbusConnection) -> None:
    device.plug_in()
    device.session_energy_wh = 70_000.0
    regs = await conn.read_holding_registers(705, 14)
    assert regs[0] == 0xFFFF
    assert u32(regs[11:13]) == 70_000


def test_bcd_encoding() -> None:
    assert bcd_time(14 * 3600 + 35 * 60 + 7) == 0x00143507
    assert bcd_time(23 * 3600 + 59 * 60 + 59) == 0x00235959
    assert bcd_time(0) == 0


async def test_readable_ranges(conn: ModbusConnection) -> None:
    for address, count in ((100, 53), (200, 28), (705, 42), (1000, 1)):
        assert len(await conn.read_holding_registers(address, count)) == count
    for address, count in ((99, 2), (152, 2), (228, 1), (704, 2), (746, 2), (1001, 1), (0, 1)):
        with pytest.raises(ModbusExceptionResponse) as err:
            await conn.read_holding_registers(address, count)
        assert err.value.code == 2


async def test_old_firmware_registers(model: SiteModel) -> None:
    device = AmtronDevice(model, firmware="5.12")
    async with create_server(device) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 255)
        assert text(await conn.read_holding_registers(100, 2)) == b"5.12"
        for address, count in ((100, 42), (200, 18), (705, 11), (720, 10), (1000, 1)):
            assert len(await conn.read_holding_registers(address, count)) == count
        for address, count in ((142, 10), (152, 1), (218, 2), (222, 6), (716, 4), (741, 6)):
            with pytest.raises(ModbusExceptionResponse) as err:
                await conn.read_holding_registers(address, count)
            assert err.value.code == 2
        assert await conn.read_holding_registers(124, 1) == [0]  # available, inverted
        device.available = False
        assert await conn.read_holding_registers(124, 1) == [1]
        await conn.close()


# Writes ----------------------------------------------------------------------------------


async def test_hems_limit_boots_with_32_and_accepts_0_or_6_to_32(
    device: AmtronDevice, conn: ModbusConnection
) -> None:
    assert await conn.read_holding_registers(1000, 1) == [32]
    for value in (0, 6, 16, 32):
        await conn.write_register(1000, value)
        assert await conn.read_holding_registers(1000, 1) == [value]
    for value in (1, 5, 33, 0xFFFF):
        with pytest.raises(ModbusExceptionResponse) as err:
            await conn.write_register(1000, value)
        assert err.value.code == 3
    assert device.hems_limit_a == 32
    assert [v for _, v in device.writes] == [0, 6, 16, 32]


async def test_read_only_registers_refuse_writes(
    device: AmtronDevice, conn: ModbusConnection
) -> None:
    for address in (100, 104, 122, 134, 200, 706, 712, 1001):
        with pytest.raises(ModbusExceptionResponse) as err:
            await conn.write_register(address, 1)
        assert err.value.code == 2
    with pytest.raises(ModbusExceptionResponse) as err:
        await conn.write_register(131, 3)
    assert err.value.code == 3
    await conn.write_register(131, 10)
    await conn.write_register(132, 45)
    assert await conn.read_holding_registers(131, 2) == [10, 45]
    assert device.writes == [(131, 10), (132, 45)]


async def test_hems_write_cap_knob(device: AmtronDevice, conn: ModbusConnection) -> None:
    device.hems_write_cap = 16
    await conn.write_register(1000, 20)
    assert await conn.read_holding_registers(1000, 1) == [16]


async def test_availability_write(device: AmtronDevice, conn: ModbusConnection) -> None:
    await conn.write_register(124, 0)
    assert await conn.read_holding_registers(104, 1) == [UNAVAILABLE]
    await conn.write_register(124, 1)
    assert await conn.read_holding_registers(104, 1) == [AVAILABLE]
    with pytest.raises(ModbusExceptionResponse):
        await conn.write_register(124, 2)


async def test_id_tag_write_acts_like_a_card(device: AmtronDevice, conn: ModbusConnection) -> None:
    device.plug_in(CarConfig(tag=None))
    assert text(await conn.read_holding_registers(720, 10)) == b" " * 20
    for i, word in enumerate([0x5441, 0x4737]):  # "TAG7", one register at a time
        await conn.write_register(1110 + i, word)
    assert text(await conn.read_holding_registers(720, 10)) == b"TAG7".rjust(20)
    with pytest.raises(ModbusExceptionResponse):  # write-only
        await conn.read_holding_registers(1110, 1)


async def test_second_connection_is_refused(server: ModbusTcpServer) -> None:
    first = ModbusConnection("127.0.0.1", server.port, 255)
    second = ModbusConnection("127.0.0.1", server.port, 255, timeout=1.0)
    assert await first.read_holding_registers(100, 1) == [0x352E]
    with pytest.raises(CannotConnect):
        await second.read_holding_registers(100, 1)
    assert server.faults.max_connections == 1
    assert server.faults.connections_refused == 1
    await first.close()
    await second.close()


# Behaviour -------------------------------------------------------------------------------


async def test_ocpp_and_iec_transitions(
    model: SiteModel, device: AmtronDevice, conn: ModbusConnection
) -> None:
    async def status() -> tuple[int, int]:
        regs = await conn.read_holding_registers(104, 19)
        return regs[0], regs[122 - 104]

    assert await status() == (AVAILABLE, IecState.A)
    device.plug_in(CarConfig(capacity_kwh=1.0, soc_pct=90.0, target_soc_pct=95.0))
    assert await status() == (PREPARING, IecState.B)
    steps(model, 2.0)
    assert await status() == (PREPARING, IecState.B)  # offered, the car not yet reacting
    steps(model, 2.5)
    assert await status() == (CHARGING, IecState.C)
    await conn.write_register(1000, 0)
    steps(model, 0.25)
    assert (await status())[0] == SUSPENDED_EVSE
    steps(model, 5.0)
    assert await status() == (SUSPENDED_EVSE, IecState.B)
    await conn.write_register(1000, 16)
    steps(model, 3.0)
    assert await status() == (CHARGING, IecState.C)
    steps(model, 60.0)  # 1 kWh battery from 90 % to 95 % at 11 kW
    assert device.car.full
    assert await status() == (SUSPENDED_EV, IecState.B)
    assert await conn.read_holding_registers(206, 6) == [0] * 6
    device.unplug()
    steps(model, 1.0)
    assert await status() == (FINISHING, IecState.A)
    steps(model, 3.0)
    assert await status() == (AVAILABLE, IecState.A)


async def test_currents_power_and_idle_phases(
    model: SiteModel, device: AmtronDevice, conn: ModbusConnection
) -> None:
    device.plug_in(CarConfig(phases=1, max_current_a=13.0))
    steps(model, 8.0)
    regs = await conn.read_holding_registers(200, 28)
    at = {200 + i: w for i, w in enumerate(regs)}
    # The car's own max (13 A) is below the offer (16 A).
    assert [u32([at[a], at[a + 1]]) for a in (206, 208, 210)] == [2990, 0, 0]
    assert [u32([at[a], at[a + 1]]) for a in (212, 214, 216)] == [13000, 6, 6]
    assert u32([at[220], at[221]]) == 2990
    assert [u32([at[a], at[a + 1]]) for a in (222, 224, 226)] == [230, 230, 230]
    assert model.loads["wallbox"] == (2990.0, 0.0, 0.0)


async def test_comm_timeout_fallback(
    model: SiteModel, device: AmtronDevice, conn: ModbusConnection
) -> None:
    await conn.write_register(131, 8)
    await conn.write_register(132, 20)
    await conn.write_register(1000, 16)
    device.plug_in()
    steps(model, 19.75)
    assert await conn.read_holding_registers(706, 1) == [16]  # the read resets the silence
    steps(model, 19.75)
    assert not device.fallback_active
    steps(model, 0.5)
    assert device.fallback_active
    assert device.effective_limit_a == 8
    assert await conn.read_holding_registers(706, 1) == [8]
    assert await conn.read_holding_registers(1000, 1) == [16]
    await conn.write_register(1000, 10)
    assert not device.fallback_active
    assert await conn.read_holding_registers(706, 1) == [10]
    await conn.write_register(132, 0)  # 0 disables the fallback in the simulator
    steps(model, 100.0)
    assert not device.fallback_active


async def test_glitches(model: SiteModel, device: AmtronDevice, conn: ModbusConnection) -> None:
    device.plug_in()
    steps(model, 8.0)
    device.glitches = True
    device.glitch_na_probability = 1.0
    regs = await conn.read_holding_registers(200, 28)
    pairs = [(regs[i], regs[i + 1]) for i in range(0, 28, 2)]
    assert pairs.count((0xFFFF, 0xFFFF)) == 1
    device.glitch_e_per_h = 3600.0 * 4  # about one episode per 0.25 s step
    seen_e = False
    for _ in range(40):
        model.step(0.25)
        if (await conn.read_holding_registers(122, 1)) == [IecState.E]:
            seen_e = True
            break
    assert seen_e
    device.glitches = False
    steps(model, 6.0)
    assert await conn.read_holding_registers(122, 1) == [IecState.C]


async def test_freeze_snapshot(server: ModbusTcpServer, conn: ModbusConnection) -> None:
    server.faults.freeze = True
    assert await conn.read_holding_registers(100, 2) == [0x352E, 0x3232]
    with pytest.raises(ModbusExceptionResponse):
        await conn.write_register(1000, 10)
    server.faults.freeze = False


def test_wallbox_load_reaches_house_and_grid(model: SiteModel, device: AmtronDevice) -> None:
    e3dc = E3dcDevice(model)
    model.battery_override = 0.0
    grid_before = model.grid_w
    device.plug_in()
    steps(model, 8.0)
    assert model.loads["wallbox"] == (3680.0, 3680.0, 3680.0)
    assert model.house_w == pytest.approx(400.0 + 11040.0)
    assert model.grid_w == pytest.approx(grid_before + 11040.0)
    image = e3dc.registers()
    house = image[40071 - 40000] | image[40072 - 40000] << 16  # E3DC: low word first
    assert house == 11440
    device.unplug()
    model.step(0.25)
    assert model.loads["wallbox"] == (0.0, 0.0, 0.0)


def test_meter_and_session_energy(model: SiteModel, device: AmtronDevice) -> None:
    start = device.meter_wh
    device.comm_timeout_s = 0  # no HEMS talks to it in this test: no fallback to 6 A
    device.plug_in(CarConfig(phases=3, max_current_a=16.0))
    steps(model, 7.0)  # preparing, delay and ramp
    session_before = device.session_energy_wh
    steps(model, 3600.0, dt=5.0)
    gained = device.session_energy_wh - session_before
    assert gained == pytest.approx(11040.0, rel=1e-6)
    assert device.meter_wh - start == pytest.approx(device.session_energy_wh)
    assert device.car.energy_wh == pytest.approx(device.session_energy_wh)


def test_schedule(model: SiteModel) -> None:
    device = AmtronDevice(model)  # model starts at 14:35:07
    device.car_arrives_s = 14 * 3600 + 36 * 60
    device.car_leaves_s = 14 * 3600 + 40 * 60
    model.step(1.0)
    assert not device.car.plugged
    steps(model, 60.0, dt=1.0)
    assert device.car.plugged
    device.unplug()  # a manual unplug is not undone
    steps(model, 60.0, dt=1.0)
    assert not device.car.plugged
    device.plug_in()
    steps(model, 240.0, dt=1.0)
    assert not device.car.plugged  # left at 14:40


def test_schedule_inside_the_window_at_start_and_over_midnight() -> None:
    model = SiteModel.scenario("constant", start_s=23 * 3600.0)
    device = AmtronDevice(model)
    device.car_arrives_s = 22 * 3600.0
    device.car_leaves_s = 6 * 3600.0
    model.step(1.0)
    assert device.car.plugged
    steps(model, 7 * 3600.0, dt=60.0)
    assert not device.car.plugged
    steps(model, 16 * 3600.0, dt=60.0)
    assert device.car.plugged


# The car ------------------------------------------------------------------------------


def test_car_delay_and_ramp() -> None:
    car = Car(CarConfig(response_delay_s=2.0, ramp_s=3.0))
    car.plug_in()
    assert car.state is IecState.B
    samples = []
    for _ in range(24):
        car.step(0.25, 10.0)
        samples.append(car.current_a)
    assert samples[7] == 0.0  # t = 2.0 s: the delay just ran out
    assert samples[13] == pytest.approx(5.0)  # t = 3.5 s: half way
    assert samples[19] == pytest.approx(10.0)  # t = 5.0 s: done
    assert car.state is IecState.C
    assert car.phase_currents == (10.0, 10.0, 10.0)


def test_car_limits_pause_and_resume() -> None:
    car = Car(CarConfig(phases=1, max_current_a=16.0, response_delay_s=0.0, ramp_s=0.0))
    car.plug_in()
    car.step(1.0, 32.0)
    assert car.current_a == 16.0  # its own maximum
    assert car.phase_currents == (16.0, 0.0, 0.0)
    car.step(1.0, 5.0)
    assert car.current_a == 0.0  # below 6 A: no charging
    assert car.state is IecState.B
    car.step(1.0, 6.0)
    assert car.current_a == 6.0  # resumes at 6 A
    car.unplug()
    assert car.state is IecState.A
    assert car.step(1.0, 16.0) == 0.0


def test_car_fills_up_and_stops() -> None:
    car = Car(CarConfig(capacity_kwh=10.0, soc_pct=99.0, efficiency=1.0, ramp_s=0.0))
    car.plug_in()
    for _ in range(200):
        car.step(1.0, 16.0)
    assert car.full
    assert car.current_a == 0.0
    assert car.state is IecState.B
    assert car.soc_pct == pytest.approx(100.0)


def test_car_rejects_two_phases() -> None:
    with pytest.raises(ValueError, match="1 or 3"):
        Car(CarConfig(phases=2))


# Command line ----------------------------------------------------------------------------


def test_cli_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for option in (
        "--amtron",
        "--amtron-firmware",
        "--amtron-glitches",
        "--car-arrives",
        "--car-leaves",
        "--car-phases",
        "--car-tag",
        "--car-max-current",
    ):
        assert option in out
    amtron = next(o for o in DEVICES if o.name == "amtron")
    assert amtron.default == "127.0.0.1:5021"
    assert amtron.faults is not None
    assert amtron.faults().max_connections == 1


def _configured(model: SiteModel, argv: list[str]) -> AmtronDevice:
    args: argparse.Namespace = build_parser().parse_args(argv)
    device = AmtronDevice(model)
    configure_from_args(device, args)
    return device


def test_cli_configures_the_car(model: SiteModel) -> None:
    device = _configured(model, [])
    assert device.car.plugged  # plugged in from the start by default
    assert device.car.config.phases == 3
    device = _configured(
        SiteModel.scenario("constant", start_s=12 * 3600.0),
        [
            "--car-phases=1",
            "--car-tag=none",
            "--car-arrives=13:30",
            "--car-max-current=10",
            "--amtron-firmware=5.12",
            "--amtron-glitches",
        ],
    )
    assert not device.car.plugged
    assert device.car.config.phases == 1
    assert device.car.config.tag is None
    assert device.car.config.max_current_a == 10.0
    assert device.car_arrives_s == 13.5 * 3600
    assert device.firmware == "5.12"
    assert device.glitches
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--car-arrives=25:00"])
