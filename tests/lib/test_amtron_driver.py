"""Amtron driver over real Modbus TCP (127.0.0.1) against the simulated charger."""

from __future__ import annotations

import ast
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import time

import pytest

from custom_components.solar_wallbox.drivers import amtron as amtron_driver
from custom_components.solar_wallbox.drivers.amtron import (
    ERROR_NAMES,
    WRITABLE_REGISTERS,
    AmtronClient,
    ChargePointStatus,
    ForbiddenRegister,
    InvalidCurrent,
    InvalidTimeout,
    VehicleState,
    WriteVerifyError,
    build_plan,
    decode_bcd_time,
    decode_error_bits,
    error_names,
)
from custom_components.solar_wallbox.drivers.modbus import (
    CannotConnect,
    ModbusConnection,
    ModbusError,
    ModbusExceptionResponse,
    WrongDevice,
)
from simulator.amtron import AmtronDevice, ascii_words, create_server, rfid_words
from simulator.car import CarConfig
from simulator.modbus_server import ModbusTcpServer, RegisterImage
from simulator.model import SiteModel

NEW_PLAN = [(100, 53), (200, 28), (705, 42), (1000, 1)]
OLD_UNSUPPORTED = {"model", "totals", "voltages", "session32", "evccid"}


class FakeClock:
    """Injectable monotonic clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Rig:
    """Model, charger, its server (one connection allowed) and a driver client."""

    model: SiteModel
    device: AmtronDevice
    server: ModbusTcpServer
    connection: ModbusConnection
    client: AmtronClient
    clock: FakeClock

    def step(self, seconds: float, dt: float = 0.25) -> None:
        """Advance the site (and the car) without any Modbus request."""
        for _ in range(round(seconds / dt)):
            self.model.step(dt)

    async def charge(self, amps: int, config: CarConfig | None = None) -> None:
        """Plug the car in, set the limit and let everything settle."""
        self.device.plug_in(config)
        assert await self.client.set_current_limit(amps) == amps
        self.step(8.0)


def make_model() -> SiteModel:
    model = SiteModel.scenario("constant")  # starts at 12:00:00
    model.pv_override = 9000.0
    model.house_override = 500.0
    model.battery_override = 0.0
    return model


@pytest.fixture
def firmware() -> str:
    return "5.22"


@pytest.fixture
async def rig(firmware: str) -> AsyncIterator[Rig]:
    model = make_model()
    device = AmtronDevice(model, firmware=firmware)
    server = create_server(device)
    await server.start()
    connection = ModbusConnection("127.0.0.1", server.port, 255, timeout=2.0)
    clock = FakeClock()
    yield Rig(model, device, server, connection, AmtronClient(connection, clock=clock), clock)
    await connection.close()
    await server.stop()
    # Every test ran over exactly one connection; the charger never had to refuse one.
    assert server.faults.connections_refused == 0
    assert server.faults.connections_total <= 1


@asynccontextmanager
async def image_client(
    patch: dict[int, int], *, firmware: str = "5.22"
) -> AsyncIterator[AmtronClient]:
    """A client talking to a fixed register image: the simulator's, with ``patch`` applied."""
    model = make_model()
    device = AmtronDevice(model, firmware=firmware)
    device.plug_in()
    image = device.registers()
    assert set(patch) <= set(image), "patch only registers the charger has"
    image.update(patch)
    async with ModbusTcpServer(RegisterImage(image, writable=WRITABLE_REGISTERS)) as server:
        connection = ModbusConnection("127.0.0.1", server.port, 255, timeout=2.0)
        try:
            yield AmtronClient(connection)
        finally:
            await connection.close()


# Identification ---------------------------------------------------------------------


async def test_identify_new_firmware(rig: Rig) -> None:
    identity = await rig.client.identify()
    assert identity.firmware == "5.22"
    assert identity.protocol_version == "1.07"
    assert identity.model == "CC612_2S0R_CC"
    assert identity.firmware_at_least_5_22
    assert identity.unsupported == frozenset()
    assert [(s.start, s.count) for s in rig.client.plan] == NEW_PLAN
    assert rig.connection.stats.errors == 0


@pytest.mark.parametrize("firmware", ["5.12"])
async def test_identify_old_firmware_records_unsupported_groups(rig: Rig) -> None:
    identity = await rig.client.identify()
    assert identity.firmware == "5.12"
    assert not identity.firmware_at_least_5_22
    assert identity.model is None
    assert identity.unsupported == OLD_UNSUPPORTED
    assert [(s.start, s.count) for s in rig.client.plan] == [
        (100, 42),
        (200, 18),
        (705, 11),
        (1000, 1),
        (720, 10),
    ]


async def test_not_an_amtron() -> None:
    """Registers 100–101 without a firmware version → WrongDevice; nothing at all → exception."""
    image = dict.fromkeys(range(100, 142), 0)
    async with ModbusTcpServer(RegisterImage(image)) as server:
        connection = ModbusConnection("127.0.0.1", server.port, 255)
        with pytest.raises(WrongDevice, match="100"):
            await AmtronClient(connection).identify()
        await connection.close()
    async with ModbusTcpServer(RegisterImage({0: 1})) as server:
        connection = ModbusConnection("127.0.0.1", server.port, 255)
        with pytest.raises(ModbusExceptionResponse):
            await AmtronClient(connection).identify()
        await connection.close()


def test_plan_merges_supported_groups() -> None:
    assert [(s.start, s.count) for s in build_plan(frozenset())] == NEW_PLAN
    plan = build_plan(frozenset({"totals", "rfid", "hems"}))
    assert [(s.start, s.count, s.groups) for s in plan] == [
        (100, 53, ("status", "model")),
        (200, 18, ("meter",)),
        (705, 15, ("session", "session32")),
        (222, 6, ("voltages",)),
        (730, 17, ("evccid",)),
    ]


# Decoding -----------------------------------------------------------------------------


async def test_measurements_while_charging(rig: Rig) -> None:
    await rig.client.identify()
    await rig.charge(10, CarConfig(tag="04A1B2C3D4E5F6", evccid="0A1B2C3D4E5F"))
    data = await rig.client.read()
    assert rig.connection.stats.last_poll_requests == 4
    assert data.status is ChargePointStatus.CHARGING
    assert data.vehicle_state is VehicleState.C
    assert data.car_connected
    assert data.charging
    assert data.available is True
    assert data.error_bits == 0
    assert data.errors == ()
    assert (data.power_l1, data.power_l2, data.power_l3) == (2300, 2300, 2300)
    assert data.power == 6900
    assert (data.current_l1, data.current_l2, data.current_l3) == (10.0, 10.0, 10.0)
    assert (data.voltage_l1, data.voltage_l2, data.voltage_l3) == (230, 230, 230)
    assert data.active_phases == 3
    assert data.energy_total == round(rig.device.meter_wh)
    assert data.energy_total > 1_100_000
    assert data.signalled_current == 10
    assert data.hems_limit == 10
    assert data.min_current == 6
    assert data.ev_max_current == 32
    assert data.operator_limit == 16
    assert data.session_energy == round(rig.device.session_energy_wh)
    assert data.session_energy > 0
    assert data.session_duration == 8
    assert data.session_start == time(12, 0, 0)
    assert data.rfid_tag == "04A1B2C3D4E5F6"
    assert data.evccid == "0A1B2C3D4E5F"
    assert data.safe_current == 6
    assert data.comm_timeout == 60
    assert data.plug_locked is True


async def test_no_car(rig: Rig) -> None:
    data = await rig.client.read()  # identifies first
    assert rig.client.identity is not None
    assert data.status is ChargePointStatus.AVAILABLE
    assert data.vehicle_state is VehicleState.A
    assert not data.car_connected
    assert not data.charging
    assert data.power == 0
    # Idle phases show a few mA: not active.
    assert data.current_l1 == pytest.approx(0.006)
    assert data.active_phases == 0
    assert data.hems_limit == 32  # boots with 32
    assert data.signalled_current == 0
    assert data.ev_max_current is None  # 0 without a car
    assert data.rfid_tag is None
    assert data.evccid is None
    assert data.session_start is None  # no session yet
    assert data.plug_locked is False


async def test_one_phase_car(rig: Rig) -> None:
    await rig.charge(12, CarConfig(phases=1))
    data = await rig.client.read()
    assert data.active_phases == 1
    assert data.current_l1 == 12.0
    assert data.current_l2 == pytest.approx(0.006)
    assert data.power == data.power_l1 == 2760
    assert rig.model.loads["wallbox"] == (2760.0, 0.0, 0.0)


async def test_error_code_spec_example(rig: Rig) -> None:
    """Registers 0x4100, 0x0000 → value 0x41 → bits 0 and 6."""
    rig.device.error_bits = 0x41
    assert await rig.connection.read_holding_registers(111, 2) == [0x4100, 0x0000]
    data = await rig.client.read()
    assert data.error_bits == 0x41
    assert data.errors == ("rcmb_triggered", "contactor_weld")


def test_error_decoding() -> None:
    assert decode_error_bits(0x4100, 0x0000) == 0x41
    assert decode_error_bits(0x0000, 0x2000) == 1 << 21
    assert decode_error_bits(0x0001, 0x0000) == 1 << 8
    assert decode_error_bits(0xFFFF, 0xFFFF) == 0  # not available
    assert error_names(1 << 21 | 1 << 8) == ("actuator_locking_failed", "no_power")
    assert error_names(1 << 25) == ()  # undefined bits have no name
    assert len(ERROR_NAMES) == 22
    assert ERROR_NAMES[5] == "rcd_triggered"
    assert ERROR_NAMES[20] == "incorrect_phase_rotation"


@pytest.mark.parametrize("bit", [0, 1, 5, 6, 8, 13, 15, 17, 21], ids=lambda b: ERROR_NAMES[b])
async def test_every_error_bit_over_tcp(rig: Rig, bit: int) -> None:
    rig.device.error_bits = 1 << bit
    data = await rig.client.read()
    assert data.errors == (ERROR_NAMES[bit],)


async def test_not_available_markers() -> None:
    """0xFFFF / 0xFFFFFFFF → None for every value, also transiently."""
    na32 = [0xFFFF, 0xFFFF]
    patch: dict[int, int] = {}
    for address in (104, 111, 112, 122, 124, 131, 132, 134, 152, 705, 706, 709, 712, 715, 1000):
        patch[address] = 0xFFFF
    for address in (200, 206, 208, 210, 212, 214, 216, 218, 220, 222, 224, 226, 707, 716, 718):
        patch[address], patch[address + 1] = na32
    async with image_client(patch) as client:
        data = await client.read()
    for name in (
        "status",
        "vehicle_state",
        "available",
        "power",
        "power_l1",
        "power_l2",
        "power_l3",
        "current_l1",
        "current_l2",
        "current_l3",
        "voltage_l1",
        "voltage_l2",
        "voltage_l3",
        "energy_total",
        "signalled_current",
        "hems_limit",
        "min_current",
        "ev_max_current",
        "operator_limit",
        "session_energy",
        "session_duration",
        "session_start",
        "safe_current",
        "comm_timeout",
        "plug_locked",
    ):
        assert getattr(data, name) is None, name
    assert data.error_bits == 0
    assert data.active_phases == 0


async def test_unknown_enum_values_are_none() -> None:
    async with image_client({104: 42, 122: 9, 124: 7}) as client:
        data = await client.read()
    assert data.status is None
    assert data.vehicle_state is None
    assert data.available is None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ((0x0014, 0x3507), time(14, 35, 7)),
        ((0x0000, 0x0001), time(0, 0, 1)),
        ((0x0023, 0x5959), time(23, 59, 59)),
        ((0x001A, 0x0000), None),  # not BCD
        ((0x0024, 0x0000), None),  # hour 24
        ((0x0012, 0x6000), None),  # minute 60
        ((0x0112, 0x0000), None),  # more than six digits
    ],
)
async def test_session_start_bcd(words: tuple[int, int], expected: time | None) -> None:
    async with image_client({707: words[0], 708: words[1]}) as client:
        assert (await client.read()).session_start == expected


async def test_session_start_midnight_versus_no_session() -> None:
    async with image_client({707: 0, 708: 0, 718: 0, 719: 5}) as client:
        assert (await client.read()).session_start == time(0, 0, 0)
    async with image_client({707: 0, 708: 0, 718: 0, 719: 0}) as client:
        assert (await client.read()).session_start is None


def test_bcd_decoder() -> None:
    assert decode_bcd_time(0x00143507) == time(14, 35, 7)
    assert decode_bcd_time(None) is None
    assert decode_bcd_time(0x00FFFFFF) is None


def _ascii_regs(raw: bytes) -> list[int]:
    assert len(raw) % 2 == 0
    return [(raw[i] << 8) | raw[i + 1] for i in range(0, len(raw), 2)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"      04A1B2C3D4E5F6", "04A1B2C3D4E5F6"),  # left-padded with spaces
        (b"\0\0\0\0\0\0  tag-42\0\0\0\0\0\0", "tag-42"),  # NULs and spaces
        (b" " * 20, None),
        (b"\0" * 20, None),
        (b"\0 \0 \0 \0 \0 \0 \0 \0 \0 \0 ", None),
    ],
)
async def test_rfid_tag_stripping(raw: bytes, expected: str | None) -> None:
    patch = dict(zip(range(720, 730), _ascii_regs(raw), strict=True))
    async with image_client(patch) as client:
        assert (await client.read()).rfid_tag == expected


async def test_rfid_from_the_simulator_is_left_padded(rig: Rig) -> None:
    rig.device.plug_in(CarConfig(tag="ABC123"))
    assert await rig.connection.read_holding_registers(720, 10) == rfid_words("ABC123")
    assert (await rig.connection.read_holding_registers(727, 3)) == _ascii_regs(b"ABC123")
    assert (await rig.client.read()).rfid_tag == "ABC123"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (ascii_words("0A1B2C3D4E5F", 6), "0A1B2C3D4E5F"),
        ([0] * 6, None),
        (ascii_words("000000000000", 6), None),
    ],
)
async def test_evccid(words: list[int], expected: str | None) -> None:
    async with image_client(dict(zip(range(741, 747), words, strict=True))) as client:
        assert (await client.read()).evccid == expected


async def test_32_bit_values_use_the_high_word(rig: Rig) -> None:
    rig.device.meter_wh = 73536.0  # the spec's example: 0x0001, 0x1F40
    rig.device.session_energy_wh = 70_000.0  # above 16 bits: 705 saturates
    assert await rig.connection.read_holding_registers(218, 2) == [0x0001, 0x1F40]
    data = await rig.client.read()
    assert data.energy_total == 73536
    assert data.session_energy == 70_000


# Old firmware (5.12) --------------------------------------------------------------------


@pytest.mark.parametrize("firmware", ["5.12"])
async def test_old_firmware_polls_without_errors(rig: Rig) -> None:
    client, connection = rig.client, rig.connection
    await client.identify()
    errors_after_identify = connection.stats.errors
    assert errors_after_identify > 0  # the probes of unsupported groups
    await rig.charge(10, CarConfig(phases=1, tag="OLD-FW-TAG"))
    tags: list[str | None] = []
    hems: list[int | None] = []
    for _ in range(6):
        before = rig.server.faults.requests_total
        data = await client.read()
        assert connection.stats.last_poll_requests <= 4
        assert rig.server.faults.requests_total - before == connection.stats.last_poll_requests
        tags.append(data.rfid_tag)
        hems.append(data.hems_limit)
    assert connection.stats.errors == errors_after_identify  # no per-poll errors
    # The RFID tag and the HEMS limit share the fourth request; both stay known.
    assert tags[1:] == ["OLD-FW-TAG"] * 5
    assert hems == [10] * 6
    assert data.available is True  # register 124 reads 0: inverted before 5.22
    assert await connection.read_holding_registers(124, 1) == [0]
    assert rig.client.identity is not None
    assert rig.client.identity.model is None
    assert data.power == data.power_l1 == 2300  # sum of the phases (no 220–221)
    assert data.energy_total == round(rig.device.meter_wh)  # 200–201 fallback
    assert data.session_energy == round(rig.device.session_energy_wh)  # 705
    assert data.session_duration == 8  # 709
    assert data.session_start == time(12, 0, 0)
    assert data.voltage_l1 is None
    assert data.evccid is None
    assert data.plug_locked is None
    assert data.status is ChargePointStatus.CHARGING
    assert data.active_phases == 1


@pytest.mark.parametrize("firmware", ["5.12"])
async def test_old_firmware_16_bit_saturation_and_no_car(rig: Rig) -> None:
    rig.device.plug_in()
    rig.device.session_energy_wh = 70_000.0
    data = await rig.client.read()
    assert data.session_energy is None  # 705 saturated at 0xFFFF = not available
    rig.device.unplug()
    rig.step(5.0)
    for _ in range(3):
        data = await rig.client.read()
        # No car: the RFID span is skipped, 1000 is read every poll.
        assert rig.connection.stats.last_poll_requests == 4
        assert data.rfid_tag is None
        assert data.hems_limit == 32


@pytest.mark.parametrize(
    ("firmware", "raw"), [("5.22", [1]), ("5.12", [0])], ids=["new", "old-inverted"]
)
async def test_availability(rig: Rig, raw: list[int]) -> None:
    assert await rig.connection.read_holding_registers(124, 1) == raw
    assert (await rig.client.read()).available is True
    rig.device.available = False
    data = await rig.client.read()
    assert data.available is False
    assert data.status is ChargePointStatus.UNAVAILABLE


# Vehicle state E debounce -------------------------------------------------------------


async def test_state_e_is_debounced(rig: Rig) -> None:
    client, clock, device = rig.client, rig.clock, rig.device
    device.plug_in()
    rig.step(3.0)
    assert (await client.read()).vehicle_state is VehicleState.B
    device.force_state_e = True
    device.error_bits = 1 << 1  # "vehicle state E" error bit comes with it
    data = await client.read()
    assert data.vehicle_state is VehicleState.B
    assert data.errors == ()
    assert data.car_connected
    clock.t += 10.0
    assert (await client.read()).vehicle_state is VehicleState.B  # not more than 10 s yet
    clock.t += 0.5
    data = await client.read()
    assert data.vehicle_state is VehicleState.E
    assert data.errors == ("vehicle_state_e",)
    assert not data.car_connected
    device.force_state_e = False
    device.error_bits = 0
    assert (await client.read()).vehicle_state is VehicleState.B  # back at once
    device.force_state_e = True
    clock.t += 5.0
    assert (await client.read()).vehicle_state is VehicleState.B  # a new episode restarts
    clock.t += 5.1
    assert (await client.read()).vehicle_state is VehicleState.B
    clock.t += 5.0
    assert (await client.read()).vehicle_state is VehicleState.E


async def test_state_e_before_any_other_state(rig: Rig) -> None:
    rig.device.force_state_e = True
    assert (await rig.client.read()).vehicle_state is None
    rig.clock.t += 11.0
    assert (await rig.client.read()).vehicle_state is VehicleState.E


async def test_glitches_never_raise(rig: Rig) -> None:
    rig.device.glitches = True
    rig.device.glitch_na_probability = 1.0
    rig.device.plug_in()
    await rig.client.set_current_limit(16)
    rig.step(8.0)
    missing = 0
    for _ in range(10):
        data = await rig.client.read()
        values = (data.power, data.power_l1, data.power_l2, data.power_l3, data.energy_total)
        missing += sum(v is None for v in (*values, data.current_l1, data.voltage_l1))
    assert missing > 0
    assert rig.connection.stats.errors == 0


# Writes ---------------------------------------------------------------------------------


async def test_set_current_limit_reaches_register_1000(rig: Rig) -> None:
    assert await rig.client.set_current_limit(10) == 10
    assert rig.device.hems_limit_a == 10
    assert await rig.connection.read_holding_registers(1000, 1) == [10]
    assert await rig.client.set_current_limit(0) == 0  # pause
    assert await rig.client.set_current_limit(16, max_current=16) == 16
    assert rig.device.writes == [(1000, 10), (1000, 0), (1000, 16)]
    assert (await rig.client.read()).hems_limit == 16


@pytest.mark.parametrize(
    ("amps", "max_current", "maximum"),
    [
        (1, None, 32),
        (5, None, 32),
        (33, None, 32),
        (-1, None, 32),
        (17, 16, 16),
        (40, 40, 32),  # the cap never exceeds 32
        (7.5, None, 32),
        (True, None, 32),
        ("10", None, 32),
    ],
)
async def test_invalid_current_is_never_written(
    rig: Rig, amps: object, max_current: int | None, maximum: int
) -> None:
    with pytest.raises(InvalidCurrent) as err:
        await rig.client.set_current_limit(amps, max_current=max_current)  # type: ignore[arg-type]
    assert isinstance(err.value, ValueError)
    assert isinstance(err.value, ModbusError)
    assert (err.value.minimum, err.value.maximum) == (6, maximum)
    assert f"6..{maximum}" in str(err.value)
    assert rig.server.faults.requests_total == 0
    assert rig.device.writes == []


async def test_device_minimum_current_is_respected(rig: Rig) -> None:
    rig.device.min_current_a = 8
    await rig.client.read()
    assert rig.client.min_current == 8
    with pytest.raises(InvalidCurrent) as err:
        await rig.client.set_current_limit(6)
    assert err.value.minimum == 8
    assert await rig.client.set_current_limit(8) == 8


async def test_cap_below_the_minimum_allows_only_zero(rig: Rig) -> None:
    with pytest.raises(InvalidCurrent, match="0 A only"):
        await rig.client.set_current_limit(6, max_current=4)
    assert await rig.client.set_current_limit(0, max_current=4) == 0


async def test_read_back_mismatch(rig: Rig) -> None:
    rig.device.hems_write_cap = 16  # a charger that silently clamps
    with pytest.raises(WriteVerifyError) as err:
        await rig.client.set_current_limit(20)
    assert (err.value.address, err.value.requested, err.value.actual) == (1000, 20, 16)
    assert isinstance(err.value, ModbusError)


async def test_charger_refusal_reaches_the_caller(rig: Rig) -> None:
    rig.server.faults.exception_code = 3
    with pytest.raises(ModbusExceptionResponse) as err:
        await rig.client.set_current_limit(10)
    assert err.value.code == 3


async def test_set_fallback(rig: Rig) -> None:
    assert await rig.client.set_fallback(8, 30) == (8, 30)
    assert (rig.device.safe_current_a, rig.device.comm_timeout_s) == (8, 30)
    assert await rig.client.set_fallback(0, 65534) == (0, 65534)
    data = await rig.client.read()
    assert (data.safe_current, data.comm_timeout) == (0, 65534)
    assert [a for a, _ in rig.device.writes] == [131, 132, 131, 132]


@pytest.mark.parametrize(
    ("safe", "timeout_s", "error"),
    [
        (5, 30, InvalidCurrent),
        (33, 30, InvalidCurrent),
        (8, 0, InvalidTimeout),
        (8, 65535, InvalidTimeout),  # 0xFFFF would read back as "not available"
        (8, -5, InvalidTimeout),
        (8, 2.5, InvalidTimeout),
    ],
)
async def test_invalid_fallback_is_never_written(
    rig: Rig, safe: int, timeout_s: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as err:
        await rig.client.set_fallback(safe, timeout_s)
    assert isinstance(err.value, ValueError)
    assert rig.server.faults.requests_total == 0


async def test_only_allowed_registers_are_ever_written(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []
    original: Callable[[int, int], Awaitable[None]] = rig.connection.write_register

    async def spy(address: int, value: int) -> None:
        written.append(address)
        await original(address, value)

    monkeypatch.setattr(rig.connection, "write_register", spy)
    client = rig.client
    await client.identify()
    rig.device.plug_in()
    await client.read()
    await client.set_current_limit(10)
    await client.set_fallback(6, 120)
    for address in (100, 104, 124, 133, 999, 1001, 1110):
        with pytest.raises(ForbiddenRegister) as err:
            await client._write_verified(address, 1)
        assert err.value.address == address
    assert written == [1000, 131, 132]
    assert {a for a, _ in rig.device.writes} <= WRITABLE_REGISTERS == {131, 132, 1000}


def test_driver_has_a_single_write_path() -> None:
    """Exactly one write call in the driver, inside the allow-listed method."""
    tree = ast.parse(inspect.getsource(amtron_driver))
    calls: list[str] = []
    for function in ast.walk(tree):
        if isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr.startswith("write")
                ):
                    calls.append(function.name)
    assert calls == ["_write_verified"]


async def test_second_connection_would_be_refused() -> None:
    """The simulated charger refuses a second connection; the driver never opens one."""
    model = make_model()
    device = AmtronDevice(model)
    async with create_server(device) as server:
        first = ModbusConnection("127.0.0.1", server.port, 255, timeout=1.0)
        client = AmtronClient(first)
        await client.identify()
        await client.read()
        await client.set_current_limit(12)
        await client.set_fallback(6, 60)
        await client.read()
        assert server.faults.connections_total == 1
        assert server.faults.connections_refused == 0
        second = ModbusConnection("127.0.0.1", server.port, 255, timeout=1.0)
        with pytest.raises(CannotConnect):
            await second.read_holding_registers(100, 2)
        assert server.faults.connections_refused == 1
        await second.close()
        await first.close()


# End to end in the simulated site ----------------------------------------------------


async def test_car_follows_a_new_limit_within_the_ramp(rig: Rig) -> None:
    """Plug in, set 10 A: the car's power follows within the ramp (delay 2 s + ramp 3 s)."""
    model, device, client = rig.model, rig.device, rig.client
    house_before, grid_before = model.house_w, model.grid_w
    device.plug_in()
    rig.step(device.preparing_s)  # authorisation / handshake
    assert await client.set_current_limit(10) == 10
    data = await client.read()
    assert data.signalled_current == 10
    assert data.power == 0  # the car has not reacted yet
    powers: list[int | None] = []
    for _ in range(12):  # 6 s in 0.5 s steps, reading like the coordinator does
        rig.step(0.5)
        data = await client.read()
        powers.append(data.power)
    ramp_done = round((device.car.config.response_delay_s + device.car.config.ramp_s) / 0.5)
    assert powers[0] == 0
    assert all(p is not None and p == 6900 for p in powers[ramp_done - 1 :]), powers
    assert powers == sorted(p or 0 for p in powers)  # a monotonic ramp
    assert data.status is ChargePointStatus.CHARGING
    assert data.charging
    # The site model includes the wallbox: house consumption and grid power move with it.
    assert model.loads["wallbox"] == (2300.0, 2300.0, 2300.0)
    assert model.house_w == pytest.approx(house_before + 6900)
    assert model.grid_w == pytest.approx(grid_before + 6900)
    # Lower the limit: the car follows down, and pauses at 0.
    assert await client.set_current_limit(6) == 6
    rig.step(5.25)
    assert (await client.read()).power == 4140
    assert await client.set_current_limit(0) == 0
    rig.step(5.25)
    data = await client.read()
    assert data.power == 0
    assert data.status is ChargePointStatus.SUSPENDED_EVSE
    assert data.vehicle_state is VehicleState.B
    assert await client.set_current_limit(6) == 6
    rig.step(5.25)
    assert (await client.read()).status is ChargePointStatus.CHARGING


async def test_comm_timeout_falls_back_to_safe_current(rig: Rig) -> None:
    client, device = rig.client, rig.device
    assert await client.set_fallback(8, 30) == (8, 30)
    await rig.charge(16)
    assert (await client.read()).power == 16 * 230 * 3
    rig.step(29.0)  # silence, but not long enough
    assert not device.fallback_active
    data = await client.read()  # a request resets the silence
    assert data.signalled_current == 16
    rig.step(30.0)
    assert device.fallback_active
    rig.step(5.25)  # the car follows the fallback
    data = await client.read()
    assert data.signalled_current == 8
    assert data.hems_limit == 16  # register 1000 keeps the value written
    assert data.power == 8 * 230 * 3
    # Reads alone do not end the fallback; the next write to 1000 does.
    rig.step(1.0)
    assert (await client.read()).signalled_current == 8
    assert await client.set_current_limit(12) == 12
    assert not device.fallback_active
    rig.step(5.25)
    data = await client.read()
    assert data.signalled_current == 12
    assert data.power == 12 * 230 * 3


def test_garbled_current_registers_read_as_none() -> None:
    assert amtron_driver._amps(16) == 16
    assert amtron_driver._amps(0) == 0
    assert amtron_driver._amps(80) == 80
    assert amtron_driver._amps(62131) is None
    assert amtron_driver._amps(None) is None
