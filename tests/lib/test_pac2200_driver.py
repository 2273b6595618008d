"""PAC2200 driver and simulator over real Modbus TCP on 127.0.0.1."""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from custom_components.solar_wallbox.drivers.modbus import (
    CannotConnect,
    InvalidResponse,
    ModbusConnection,
    ModbusExceptionResponse,
    RequestTimeout,
    WrongDevice,
)
from custom_components.solar_wallbox.drivers.pac2200 import (
    ENERGIES,
    FLOAT32_REGISTERS,
    FLOAT64_REGISTERS,
    MEASUREMENTS,
    REPROBE_INTERVAL_S,
    Pac2200Client,
    Pac2200Data,
    decode_data,
)
from simulator.modbus_server import ModbusDeviceError, ModbusTcpServer, RegisterImage
from simulator.pac2200 import GAP, SQRT3, Pac2200Device, encode

from ..conftest import SimulatedDevice, pinned_model, serve

SERIAL = "LQN-SIM-220001"
# pinned_model(): 5000 W PV, 800 W house, battery +2000 W → grid −2200 W (export).
GRID_W = -2200.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pac_sim() -> AsyncIterator[SimulatedDevice]:
    """A PAC2200 simulator on the pinned model (model time does not run)."""
    model = pinned_model()
    async with serve(model, Pac2200Device(model, serial=SERIAL)) as sim:
        yield sim


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(pac_sim: SimulatedDevice, clock: FakeClock) -> AsyncIterator[Pac2200Client]:
    conn = ModbusConnection("127.0.0.1", pac_sim.port, 1, timeout=1.0)
    yield Pac2200Client(conn, clock=clock)
    await conn.close()


def requests(sim: SimulatedDevice) -> int:
    return sim.server.faults.requests_total


# --- identification -----------------------------------------------------------------


async def test_identify_with_device_identification(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    identity = await client.identify()
    assert identity.serial == SERIAL
    assert identity.vendor == "Siemens"
    assert identity.product == "PAC2200"
    assert identity.firmware == "V3.2.1"
    assert identity.frequency == pytest.approx(50.0, abs=0.03)
    # 1–72, function 43 basic, function 43 extended from 0x80.
    assert requests(pac_sim) == 3


async def test_identify_without_function_43(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    pac_sim.device.device_identification = None  # exception 01
    identity = await client.identify()
    assert (identity.serial, identity.vendor, identity.product, identity.firmware) == (None,) * 4
    assert identity.frequency == pytest.approx(50.0, abs=0.03)
    assert requests(pac_sim) == 2  # no extended request after "unsupported"


async def test_identify_basic_objects_only(client: Pac2200Client, pac_sim: SimulatedDevice) -> None:
    """Like a real PAC2200: objects 0–2 only, the extended category is refused."""
    pac_sim.device.device_identification = {0: "SIEMENS AG", 1: "7KM2200-2EA30-1JA1", 2: "V3.2"}
    identity = await client.identify()
    assert identity.serial is None
    assert identity.vendor == "SIEMENS AG"
    assert identity.product == "7KM2200-2EA30-1JA1"
    assert identity.firmware == "V3.2"


@pytest.mark.parametrize("error", [RequestTimeout("slow"), CannotConnect("gone")])
async def test_identification_transport_failure_is_not_an_error(
    client: Pac2200Client, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: Any) -> dict[int, str] | None:
        raise error

    monkeypatch.setattr(client.connection, "read_device_identification", fail)
    identity = await client.identify()
    assert identity.vendor is None
    assert identity.serial is None


@pytest.mark.parametrize(
    "overrides",
    [
        {55: 0.0},  # frequency 0
        {55: 70.0},
        {55: math.nan},
        dict.fromkeys((1, 3, 5, 7, 9, 11), 0.0),  # no voltage at all
        {1: 20.0, 3: 20.0, 5: 20.0, 7: 600.0, 9: 600.0, 11: 600.0},
    ],
    ids=["freq0", "freq70", "freq_nan", "volts0", "volts_implausible"],
)
async def test_not_a_pac2200(
    client: Pac2200Client, pac_sim: SimulatedDevice, overrides: dict[int, float]
) -> None:
    pac_sim.device.overrides = overrides
    with pytest.raises(WrongDevice):
        await client.identify()


async def test_line_to_line_voltage_alone_is_plausible(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    """A 3-wire connection measures no L-N voltage; the L-L ones are enough."""
    pac_sim.device.overrides = {1: 0.0, 3: 0.0, 5: 0.0}
    identity = await client.identify()
    assert identity.frequency == pytest.approx(50.0, abs=0.03)


async def test_device_without_the_range_raises_exception_response() -> None:
    async with ModbusTcpServer(RegisterImage({0: 1})) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 1)
        try:
            with pytest.raises(ModbusExceptionResponse) as err:
                await Pac2200Client(conn).identify()
        finally:
            await conn.close()
    assert err.value.code == 2
    assert (err.value.address, err.value.count) == (1, 72)  # the first, widest refusal


async def test_identify_learns_a_refused_block(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    pac_sim.device.refuse_block_reads = True
    await client.identify()
    before = requests(pac_sim)
    await client.read()
    # The measurements plan was learned during identify: 30 + (1 + 2 + 10) requests.
    assert requests(pac_sim) - before == 30 + 13


# --- decoding -----------------------------------------------------------------------


async def test_every_value_decoded(client: Pac2200Client, pac_sim: SimulatedDevice) -> None:
    device = pac_sim.device
    device.initial_import_wh = 1_234_567.5
    data = await client.read()
    assert client.connection.stats.last_poll_requests == 2
    expected = device.values()  # same model time: same values
    for name, address in FLOAT32_REGISTERS.items():
        value = getattr(data, name)
        assert value is not None, name
        assert value == pytest.approx(expected[address], rel=1e-6, abs=1e-4), name
    for name, address in FLOAT64_REGISTERS.items():
        assert getattr(data, name) == expected[address], name  # float64: exact
    assert data.active_power_total == GRID_W
    assert data.grid_export_power == 2200.0
    assert data.grid_import_power == 0.0
    assert data.energy_import_total == 1_234_567.5
    assert data.energy_export_total == 0.0
    phases = (data.active_power_l1, data.active_power_l2, data.active_power_l3)
    assert sum(p for p in phases if p is not None) == pytest.approx(GRID_W, abs=0.01)


async def test_two_requests_per_poll_on_the_wire(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    for _ in range(3):
        before = requests(pac_sim)
        await client.read()
        assert requests(pac_sim) - before == 2
    assert client.read_plan == {"measurements": ((1, 72),), "energies": ((801, 40),)}


async def test_float32_big_endian_high_word_first(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    regs = await client.connection.read_holding_registers(65, 2)
    assert struct.unpack(">f", struct.pack(">HH", *regs))[0] == GRID_W
    assert regs == [0xC509, 0x8000]  # −2200.0
    regs = await client.connection.read_input_registers(801, 4)  # FC04 works as well
    assert struct.unpack(">d", struct.pack(">4H", *regs))[0] == 0.0


async def test_float64_energy_counters_integrate_the_model(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    model, device = pac_sim.model, pac_sim.device
    device.initial_export_wh = 100_000_000.25  # beyond float32 precision
    model.step(3600.0)  # one hour at −2200 W
    data = await client.read()
    assert data.energy_export_t1 == pytest.approx(100_000_000.25 + 2200.0, abs=1e-6)
    assert data.energy_export_t2 == 0.0
    assert data.energy_import_t1 == 0.0
    # Import on tariff 2.
    model.battery_override = 0.0
    model.pv_override = 0.0  # grid = +800 W
    device.tariff = 2
    model.step(1800.0)
    data = await client.read()
    assert data.energy_import_t2 == pytest.approx(400.0)
    assert data.energy_import_t1 == 0.0
    assert data.energy_import_total == pytest.approx(400.0)
    assert data.energy_export_total == pytest.approx(100_000_000.25 + 2200.0)
    assert data.active_power_total == 800.0
    assert data.grid_import_power == 800.0
    assert data.grid_export_power == 0.0
    # Reactive and apparent energy follow at the configured power factor (0.95).
    tan_phi = math.sqrt(1 - 0.95**2) / 0.95
    assert data.reactive_export_t1 == pytest.approx(2200.0 * tan_phi)
    assert data.reactive_import_t2 == pytest.approx(400.0 * tan_phi)
    assert data.apparent_energy_t1 == pytest.approx(2200.0 / 0.95)
    assert data.apparent_energy_t2 == pytest.approx(400.0 / 0.95)


async def test_nan_and_inf_decode_to_none(client: Pac2200Client, pac_sim: SimulatedDevice) -> None:
    pac_sim.device.nan_registers = {1, 65, 801}
    pac_sim.device.overrides = {71: math.inf, 805: -math.inf}
    data = await client.read()
    assert data.voltage_l1_n is None
    assert data.active_power_total is None
    assert data.grid_import_power is None
    assert data.grid_export_power is None
    assert data.current_neutral is None
    assert data.energy_import_t1 is None
    assert data.energy_import_t2 is None
    assert data.energy_import_total is None
    assert data.voltage_l2_n is not None
    assert data.energy_export_total == 0.0


# --- refused block reads --------------------------------------------------------------


async def test_refused_block_reads_fall_back_and_are_remembered(
    client: Pac2200Client, pac_sim: SimulatedDevice, clock: FakeClock
) -> None:
    device = pac_sim.device
    reference = await client.read()
    device.refuse_block_reads = True
    before = requests(pac_sim)
    data = await client.read()
    # Whole range refused, both sub-ranges refused, then every value alone.
    assert requests(pac_sim) - before == (1 + 2 + 30) + (1 + 2 + 10)
    assert data == reference  # nothing lost (model time did not move)
    assert client.read_plan["measurements"] == MEASUREMENTS.values
    assert client.read_plan["energies"] == ENERGIES.values

    errors = client.connection.stats.errors
    before = requests(pac_sim)
    assert await client.read() == reference
    assert requests(pac_sim) - before == 40  # the refused blocks are not asked again
    assert client.connection.stats.errors == errors

    # Shortly before the re-probe interval: still the learned plan.
    clock.now += REPROBE_INTERVAL_S - 1
    before = requests(pac_sim)
    await client.read()
    assert requests(pac_sim) - before == 40

    # After an hour the whole ranges are tried once more; the device fixed itself.
    device.refuse_block_reads = False
    clock.now += 1
    before = requests(pac_sim)
    assert await client.read() == reference
    assert requests(pac_sim) - before == 2
    assert client.read_plan == {"measurements": ((1, 72),), "energies": ((801, 40),)}


async def test_reprobe_of_a_still_refusing_device(
    client: Pac2200Client, pac_sim: SimulatedDevice, clock: FakeClock
) -> None:
    pac_sim.device.refuse_block_reads = True
    await client.read()
    clock.now += REPROBE_INTERVAL_S
    before = requests(pac_sim)
    await client.read()
    assert requests(pac_sim) - before == 33 + 13  # relearned once
    before = requests(pac_sim)
    await client.read()
    assert requests(pac_sim) - before == 40


class GapRefusingPac2200(Pac2200Device):
    """Refuses only reads that touch the undefined registers 43–54."""

    def read_registers(self, address: int, count: int) -> list[int]:
        if set(range(address, address + count)) & set(GAP):
            raise ModbusDeviceError(2)
        return super().read_registers(address, count)


async def test_refused_gap_uses_the_defined_sub_ranges() -> None:
    model = pinned_model()
    async with ModbusTcpServer(GapRefusingPac2200(model)) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 1)
        client = Pac2200Client(conn)
        try:
            data = await client.read()
            assert server.faults.requests_total == 1 + 2 + 1
            assert data.frequency is not None
            assert data.power_factor_l3 is not None
            assert client.read_plan["measurements"] == ((1, 42), (55, 18))
            before = server.faults.requests_total
            await client.read()
            assert server.faults.requests_total - before == 3
        finally:
            await conn.close()


class MissingValuePac2200(Pac2200Device):
    """Refuses the neutral current (71) even alone, and every block containing it."""

    def read_registers(self, address: int, count: int) -> list[int]:
        if address <= 71 < address + count:
            raise ModbusDeviceError(2)
        return super().read_registers(address, count)


async def test_a_value_refused_alone_is_left_out() -> None:
    model = pinned_model()
    async with ModbusTcpServer(MissingValuePac2200(model)) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 1)
        client = Pac2200Client(conn)
        try:
            data = await client.read()
            assert data.current_neutral is None
            assert data.power_factor_total is not None
            assert data.voltage_l1_n is not None
            # 1–72, 1–42 ok, 55–72 refused, 9 values (71 refused), 801–840.
            assert server.faults.requests_total == 1 + 2 + 9 + 1
            before = server.faults.requests_total
            data = await client.read()
            assert data.current_neutral is None
            assert server.faults.requests_total - before == 1 + 8 + 1
        finally:
            await conn.close()


async def test_other_exceptions_propagate_and_keep_the_plan(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    pac_sim.server.faults.exception_code = 4  # server device failure
    with pytest.raises(ModbusExceptionResponse) as err:
        await client.read()
    assert err.value.code == 4
    assert client.read_plan == {"measurements": ((1, 72),), "energies": ((801, 40),)}
    pac_sim.server.faults.exception_code = 2  # everything refused
    with pytest.raises(ModbusExceptionResponse):
        await client.read()
    assert client.read_plan == {"measurements": ((1, 72),), "energies": ((801, 40),)}
    pac_sim.server.faults.exception_code = None
    assert (await client.read()).active_power_total == GRID_W


async def test_freeze_keeps_values_and_identification(
    client: Pac2200Client, pac_sim: SimulatedDevice
) -> None:
    first = await client.read()
    pac_sim.server.faults.freeze = True
    pac_sim.model.pv_override = 0.0
    assert await client.read() == first
    assert (await client.identify()).serial == SERIAL
    pac_sim.server.faults.freeze = False
    assert (await client.read()).active_power_total == 2000.0 + 800.0


# --- pure decoding ------------------------------------------------------------------


def test_decode_missing_registers_are_none() -> None:
    data = decode_data({65: 0xC509, 66: 0x8000, 801: 0x4059})  # 801 alone: incomplete
    assert data.active_power_total == GRID_W
    assert data.energy_import_t1 is None
    assert data.frequency is None


def _data(**values: float | None) -> Pac2200Data:
    fields = dict.fromkeys((*FLOAT32_REGISTERS, *FLOAT64_REGISTERS), None)
    fields.update(values)
    return Pac2200Data(**fields)


def test_data_properties() -> None:
    assert _data(energy_import_t1=5.0, energy_import_t2=2.5).energy_import_total == 7.5
    assert _data(energy_export_t1=5.0).energy_export_total is None
    zero = _data(active_power_total=0.0)
    assert (zero.grid_import_power, zero.grid_export_power) == (0.0, 0.0)
    assert math.copysign(1.0, zero.grid_export_power or 0.0) == 1.0  # never −0.0
    importing = _data(active_power_total=1500.0)
    assert (importing.grid_import_power, importing.grid_export_power) == (1500.0, 0.0)


# --- simulator ----------------------------------------------------------------------


def test_simulator_electrical_consistency() -> None:
    model = pinned_model()
    model.loads["kettle"] = (2000.0, 0.0, 0.0)
    device = Pac2200Device(model)
    device.voltage_noise_v = 0.0
    values = device.values()
    assert values[1] == values[3] == values[5] == 230.0
    assert values[7] == pytest.approx(230.0 * SQRT3)
    for i in range(3):
        p, s, q, u, current, pf = (values[a + 2 * i] for a in (25, 19, 31, 1, 13, 37))
        assert s == pytest.approx(abs(p) / pf)
        assert current == pytest.approx(s / u)
        assert q == pytest.approx(math.copysign(math.sqrt(s * s - p * p), p))
    assert values[65] == model.grid_w
    assert values[63] == pytest.approx(values[19] + values[21] + values[23])
    assert values[69] == pytest.approx(abs(values[65]) / values[63])
    assert values[71] > 0  # unbalanced: current in the neutral
    assert values[57] == 230.0
    model.loads.clear()
    model.house_override = 0.0
    model.pv_override = 2000.0
    model.battery_override = 0.0  # symmetric export: no neutral current
    assert device.values()[71] == pytest.approx(0.0, abs=1e-6)


def test_simulator_noise_is_small_and_deterministic() -> None:
    model = pinned_model()
    device = Pac2200Device(model)
    first = device.values()
    assert device.values()[1] == first[1]
    for _ in range(0, 600, 7):
        model.step(7.0)
        values = device.values()
        assert 228.4 <= values[1] <= 231.6
        assert 49.97 <= values[55] <= 50.03


async def test_simulator_read_rules(pac_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", pac_sim.port, 1)
    try:
        assert len(await conn.read_holding_registers(1, 72)) == 72
        assert await conn.read_holding_registers(43, 12) == [0] * 12  # gap reads 0
        assert len(await conn.read_holding_registers(41, 16)) == 16  # across the gap
        for address, count in ((2, 2), (1, 3), (802, 4), (73, 2), (799, 4), (837, 6), (0, 2)):
            with pytest.raises(ModbusExceptionResponse) as err:
                await conn.read_holding_registers(address, count)
            assert err.value.code == 2, (address, count)
        pac_sim.device.refuse_block_reads = True
        assert len(await conn.read_holding_registers(1, 2)) == 2
        assert len(await conn.read_holding_registers(805, 4)) == 4
        for address, count in ((1, 4), (43, 1), (41, 4), (801, 8), (801, 2)):
            with pytest.raises(ModbusExceptionResponse):
                await conn.read_holding_registers(address, count)
        with pytest.raises(ModbusExceptionResponse):
            await conn.write_register(1, 0)
    finally:
        await conn.close()


def test_encode_nan() -> None:
    values = dict.fromkeys((*FLOAT32_REGISTERS.values(), *FLOAT64_REGISTERS.values()), 1.0)
    values[1] = math.nan
    values[801] = math.nan
    image = encode(values)
    assert (image[1], image[2]) == (0x7FC0, 0)
    assert image[801] == 0x7FF8
    assert decode_data(image).voltage_l1_n is None


# --- function 43 (transport method and simulator) -------------------------------------


async def test_device_identification_method(pac_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", pac_sim.port, 1)
    device = pac_sim.device
    try:
        basic = await conn.read_device_identification()
        assert basic == {0: "Siemens", 1: "PAC2200", 2: "V3.2.1"}
        extended = await conn.read_device_identification(3)
        assert extended is not None
        assert extended[0x80] == SERIAL
        assert await conn.read_device_identification(4, 0x80) == {0x80: SERIAL}
        assert await conn.read_device_identification(4, 0x81) is None  # no such object
        # Long objects do not fit one answer: "more follows" is followed.
        device.device_identification = {0: "V" * 100, 1: "P" * 100, 2: "R" * 100}
        objects = await conn.read_device_identification()
        assert objects == {0: "V" * 100, 1: "P" * 100, 2: "R" * 100}
        assert conn.stats.errors == 1  # only the individual read of 0x81
        device.device_identification = {0: "Siemens", 1: "PAC2200", 2: "V1"}
        assert await conn.read_device_identification(3) is None  # category not supported
        assert await conn.read_device_identification(9) is None  # illegal read code
    finally:
        await conn.close()


async def test_device_identification_invalid_answer(
    pac_sim: SimulatedDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = ModbusConnection("127.0.0.1", pac_sim.port, 1)

    class Odd:
        def isError(self) -> bool:
            return False

    async def execute(*args: Any) -> Odd:
        return Odd()

    monkeypatch.setattr(conn, "_execute", execute)
    with pytest.raises(InvalidResponse):
        await conn.read_device_identification()


def test_implausible_values_read_as_none() -> None:
    """A garbled answer must not reach the statistics or the surplus controller."""

    def f32(value: float) -> tuple[int, int]:
        high, low = struct.unpack(">HH", struct.pack(">f", value))
        return high, low

    def f64(value: float) -> tuple[int, ...]:
        return struct.unpack(">4H", struct.pack(">d", value))

    words: dict[int, int] = {}
    for address, value in ((1, 231.0), (3, 3.4e20), (55, 50.0), (65, -2.5e12), (37, 7.5)):
        words[address], words[address + 1] = f32(value)
    for address, value in ((801, 1234.5), (805, -1.0), (809, 3.1e200)):
        words.update(zip(range(address, address + 4), f64(value), strict=True))
    data = decode_data(words)
    assert data.voltage_l1_n == pytest.approx(231.0)
    assert data.voltage_l2_n is None  # 3.4e20 V
    assert data.frequency == pytest.approx(50.0)
    assert data.active_power_total is None  # -2.5 TW
    assert data.power_factor_l1 is None  # 7.5
    assert data.energy_import_t1 == pytest.approx(1234.5)
    assert data.energy_import_t2 is None  # negative counter
    assert data.energy_export_t1 is None
