"""Doepke DCTR driver and simulator over real Modbus TCP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.solar_wallbox.drivers.dctr import (
    BANDS,
    DctrClient,
    band_bit,
    bands_of,
    decode_data,
    decode_identity,
)
from custom_components.solar_wallbox.drivers.modbus import (
    InvalidResponse,
    ModbusConnection,
    ModbusExceptionResponse,
    WrongDevice,
)
from simulator import dctr as sim_dctr
from simulator.dctr import BASE_MA, SLOPE_MA_PER_KW, DctrDevice
from simulator.modbus_server import ModbusTcpServer, RegisterImage

from ..conftest import SimulatedDevice, pinned_model, serve


@pytest.fixture
async def dctr_sim() -> AsyncIterator[SimulatedDevice]:
    """A DCTR simulator on the pinned model (model time does not run)."""
    model = pinned_model()
    async with serve(model, DctrDevice(model, seed=3)) as sim:
        yield sim


@pytest.fixture
async def client(dctr_sim: SimulatedDevice) -> AsyncIterator[DctrClient]:
    conn = ModbusConnection("127.0.0.1", dctr_sim.port, 1)
    yield DctrClient(conn)
    await conn.close()


def expected_ma(band: str, watts: float) -> int:
    return round(BASE_MA[band] + SLOPE_MA_PER_KW[band] * watts / 1000.0)


async def test_identify(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    identity = await client.identify()
    assert identity.validity == 1
    assert identity.thresholds_a == (6, 30, 30, 30, 30, 30, 30, 30)
    assert identity.thresholds_b == (20, 100, 100, 100, 100, 100, 100, 100)
    assert dctr_sim.server.faults.requests_total == 1


async def test_read_in_one_request(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    data = await client.read()
    assert client.connection.stats.last_poll_requests == 1
    assert dctr_sim.server.faults.requests_total == 1
    assert data.validity == 1
    assert data.alarm_delay == 10
    assert data.enabled_a_raw == 0xFF
    assert data.enabled_a_bands == BANDS
    assert data.enabled_b_raw == 0xC0
    assert data.enabled_b_bands == ("dc", "ac_total")
    assert not data.alarm_a
    assert not data.alarm_b
    assert data.alarm_a_bands == ()
    assert data.residual_current == tuple(dctr_sim.device.currents_ma())


@pytest.mark.parametrize(
    "load", [0.0, 11000.0, (3680.0, 3680.0, 3680.0), (7360.0, 0.0, 0.0)], ids=str
)
async def test_bands_follow_the_charging_power(
    client: DctrClient, dctr_sim: SimulatedDevice, load: float | tuple[float, float, float]
) -> None:
    device = dctr_sim.device
    device.noise_ma = 0.0
    if load:
        dctr_sim.model.loads["wallbox"] = load
    watts = sum(load) if isinstance(load, tuple) else load
    data = await client.read()
    for band in BANDS:
        assert data.current(band) == expected_ma(band, watts), band
    if watts >= 11000:
        assert data.current("ac_total") == 8
        assert data.current("dc") == 2


async def test_noise_is_seeded_and_bounded(dctr_sim: SimulatedDevice) -> None:
    device = dctr_sim.device
    model = dctr_sim.model
    model.loads["wallbox"] = 11000.0
    assert device.currents_ma() == device.currents_ma()  # same model second
    seen: set[int] = set()
    for _ in range(50):
        model.step(1.0)
        currents = device.currents_ma()
        seen.add(currents[1])
        for band, value in zip(BANDS, currents, strict=True):
            assert abs(value - (BASE_MA[band] + SLOPE_MA_PER_KW[band] * 11)) <= 1.0
    assert len(seen) > 1  # it is noisy
    other = DctrDevice(model, seed=3)
    assert other.currents_ma() == device.currents_ma()


@pytest.mark.parametrize("index", range(8))
async def test_alarm_bit_maps_to_its_band(
    client: DctrClient, dctr_sim: SimulatedDevice, index: int
) -> None:
    band = BANDS[index]
    bit = 1 << (7 - index)
    assert band_bit(band) == bit
    # Through the simulator's physics: only this band above its A threshold.
    dctr_sim.device.force_alarm(band, 35)
    data = await client.read()
    assert data.alarm_a_raw == bit
    assert data.alarm_a_bands == (band,)
    assert data.alarm_a
    assert data.current(band) == 35
    # Raw bitfields as the device reports them.
    dctr_sim.device.clear()
    dctr_sim.device.overrides = {9: bit, 10: bit}
    data = await client.read()
    assert data.alarm_a_bands == (band,)
    assert data.alarm_b_bands == (band,)
    assert data.alarm_b


async def test_high_bits_are_not_an_alarm(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    dctr_sim.device.overrides = {9: 0xFF00, 10: 0x0100}
    data = await client.read()
    assert not data.alarm_a
    assert not data.alarm_b
    assert data.alarm_a_bands == ()


async def test_thresholds_and_enabled_bands(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    device = dctr_sim.device
    device.thresholds_a = [1, 2, 3, 4, 5, 6, 7, 8]
    device.thresholds_b = [10, 20, 30, 40, 50, 60, 70, 80]
    device.enabled_a = band_bit("ac_50hz") | band_bit("ac_gt10khz")
    device.enabled_b = 0
    device.force_alarm("ac_50hz", 150)
    device.force_alarm("ac_150hz", 150)  # above both thresholds, but not enabled
    data = await client.read()
    assert data.thresholds_a == (1, 2, 3, 4, 5, 6, 7, 8)
    assert data.thresholds_b == (10, 20, 30, 40, 50, 60, 70, 80)
    assert data.enabled_a_bands == ("ac_50hz", "ac_gt10khz")
    assert data.enabled_b_bands == ()
    assert data.alarm_a_bands == ("ac_50hz",)
    assert not data.alarm_b
    device.enabled_b = band_bit("ac_150hz")
    data = await client.read()
    assert data.alarm_b_bands == ("ac_150hz",)


async def test_alarm_episode_raises_then_clears(
    client: DctrClient, dctr_sim: SimulatedDevice
) -> None:
    model, device = dctr_sim.model, dctr_sim.device
    start = model.elapsed_s + 10.0
    device.schedule_episode(start, 20.0, band="dc", level_ma=25)
    states = []
    for _ in range(8):
        data = await client.read()
        states.append((data.alarm_a, data.alarm_b, data.current("dc")))
        model.step(5.0)
    # t = 0, 5: before; 10..25: during (A: ≥ 6 mA, B: ≥ 20 mA); 30, 35: after.
    assert [s[0] for s in states] == [False, False, True, True, True, True, False, False]
    assert [s[1] for s in states] == [False, False, True, True, True, True, False, False]
    assert states[2][2] == 25
    assert states[6][2] < 6


async def test_force_and_clear(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    device = dctr_sim.device
    device.schedule_episode(dctr_sim.model.elapsed_s, 100.0, band="ac_total", level_ma=50)
    device.force_alarm("ac_gt1khz", 31)
    data = await client.read()
    assert data.alarm_a_bands == ("ac_total", "ac_gt1khz")
    assert data.alarm_b_bands == ()  # 50 mA < 100 mA
    device.clear()
    data = await client.read()
    assert not data.alarm_a
    with pytest.raises(ValueError, match="unknown band"):
        device.force_alarm("ac_3hz", 1)
    with pytest.raises(ValueError, match="unknown band"):
        device.schedule_episode(0, 1, band="ac_3hz")
    with pytest.raises(ValueError, match="positive"):
        device.schedule_episode(0, 0)


@pytest.mark.parametrize(
    "overrides",
    [
        {0: 0xFFFF},
        {0: 0x0100},
        dict.fromkeys([*range(16, 24), *range(25, 33)], 0),
        {20: 0xFFFF},
        {9: 0x0100},
        {10: 0x8000},
        {24: 0x01FF},
        {33: 0xFF00},
    ],
    ids=[
        "validity_ffff",
        "validity_high_bits",
        "thresholds_zero",
        "threshold_ffff",
        "alarm_a_bit8",
        "alarm_b_bit15",
        "enabled_a_bit8",
        "enabled_b_high",
    ],
)
async def test_implausible_image_is_wrong_device(
    client: DctrClient, dctr_sim: SimulatedDevice, overrides: dict[int, int]
) -> None:
    dctr_sim.device.overrides = overrides
    with pytest.raises(WrongDevice):
        await client.identify()


@pytest.mark.parametrize("validity", [0, 1, 0x00FF])
async def test_plausible_validity_values(
    client: DctrClient, dctr_sim: SimulatedDevice, validity: int
) -> None:
    dctr_sim.device.validity = validity
    assert (await client.identify()).validity == validity


async def test_other_device_is_exception_response() -> None:
    async with ModbusTcpServer(RegisterImage({40000: 0xE3DC})) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 1)
        try:
            with pytest.raises(ModbusExceptionResponse):
                await DctrClient(conn).identify()
        finally:
            await conn.close()


async def test_simulator_rules_and_freeze(client: DctrClient, dctr_sim: SimulatedDevice) -> None:
    conn = client.connection
    with pytest.raises(ModbusExceptionResponse):
        await conn.read_holding_registers(30, 7)
    with pytest.raises(ModbusExceptionResponse):
        await conn.write_register(16, 10)
    assert len(await conn.read_input_registers(0, 36)) == 36
    first = await client.read()
    dctr_sim.server.faults.freeze = True
    dctr_sim.device.force_alarm("dc", 99)
    assert await client.read() == first
    dctr_sim.server.faults.freeze = False
    assert (await client.read()).current("dc") == 99


def test_decode_helpers() -> None:
    assert bands_of(0b1000_0001) == ("dc", "ac_gt10khz")
    assert bands_of(0xFF00) == ()
    regs = list(range(36))
    data = decode_data(regs)
    assert data.residual_current == (1, 2, 3, 4, 5, 6, 7, 8)
    assert data.thresholds_a == tuple(range(16, 24))
    assert data.thresholds_b == tuple(range(25, 33))
    assert (data.alarm_a_raw, data.alarm_b_raw, data.enabled_a_raw, data.enabled_b_raw) == (
        9,
        10,
        24,
        33,
    )
    assert data.alarm_delay == 34
    assert data.current("ac_gt10khz") == 8
    with pytest.raises(ValueError, match="ac_3hz"):
        data.current("ac_3hz")
    with pytest.raises(InvalidResponse, match="too short"):
        decode_data(regs[:35])
    with pytest.raises(WrongDevice, match="too short"):
        decode_identity(regs[:35])


def test_simulator_and_driver_agree_on_the_map() -> None:
    assert sim_dctr.BANDS == BANDS
    for band in BANDS:
        assert sim_dctr.band_bit(band) == band_bit(band)
