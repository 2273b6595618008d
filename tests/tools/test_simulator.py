"""Tests of the device simulators, talking raw Modbus TCP (frames built by hand)."""

import asyncio
import copy
import math
import random
import signal
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest

from simulator import (
    E3dcDevice,
    Faults,
    ModbusTcpServer,
    RegisterImage,
    SimulatedSite,
    SiteModel,
)
from simulator.__main__ import main
from simulator.model import BatteryConfig

REPO = Path(__file__).resolve().parents[2]

# The Home Assistant harness blocks sockets; these tests need TCP on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")


class RawClient:
    """Minimal Modbus TCP client with explicit framing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.transaction = 0

    def frame(self, pdu: bytes, unit: int = 1, transaction: int | None = None) -> bytes:
        if transaction is None:
            self.transaction += 1
            transaction = self.transaction
        return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu

    async def receive(self) -> tuple[int, int, bytes]:
        """Return (transaction, unit, pdu) of the next response."""
        header = await asyncio.wait_for(self.reader.readexactly(7), 5)
        transaction, protocol, length, unit = struct.unpack(">HHHB", header)
        assert protocol == 0
        pdu = await asyncio.wait_for(self.reader.readexactly(length - 1), 5)
        return transaction, unit, pdu

    async def request(self, pdu: bytes, unit: int = 1) -> bytes:
        self.writer.write(self.frame(pdu, unit))
        await self.writer.drain()
        transaction, answered_unit, response = await self.receive()
        assert transaction == self.transaction
        assert answered_unit == unit
        return response

    async def read(self, address: int, count: int, unit: int = 1) -> list[int]:
        response = await self.request(struct.pack(">BHH", 3, address, count), unit)
        assert response[0] == 3, f"exception {response.hex()}"
        assert response[1] == 2 * count
        return list(struct.unpack(f">{count}H", response[2:]))

    async def read_exception(self, address: int, count: int, function: int = 3) -> int:
        response = await self.request(struct.pack(">BHH", function, address, count))
        assert response[0] == function | 0x80
        return response[1]

    async def is_closed(self) -> bool:
        """True if the server closed (or reset) the connection."""
        try:
            data = await asyncio.wait_for(self.reader.read(1), 5)
        except ConnectionResetError:
            return True
        return data == b""

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


# Independent decoding of the E3DC encoding (docs/devices.md §1).


def i32_low_word_first(words: list[int], pdu: int, base: int = 40000) -> int:
    lo, hi = words[pdu - base], words[pdu - base + 1]
    value = (hi << 16) | lo
    return value - (1 << 32) if value & 0x8000_0000 else value


def i16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def ascii_string(words: list[int]) -> str:
    raw = b"".join(bytes((w >> 8, w & 0xFF)) for w in words)
    return raw.rstrip(b"\0").decode("ascii")


@pytest.fixture
def model() -> SiteModel:
    return SiteModel.scenario("constant", seed=7)


@pytest.fixture
def device(model: SiteModel) -> E3dcDevice:
    return E3dcDevice(model)


@pytest.fixture
async def server(device: E3dcDevice) -> AsyncIterator[ModbusTcpServer]:
    async with ModbusTcpServer(device) as srv:
        yield srv


@asynccontextmanager
async def connect(server: ModbusTcpServer) -> AsyncIterator[RawClient]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    client = RawClient(reader, writer)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def client(server: ModbusTcpServer) -> AsyncIterator[RawClient]:
    async with connect(server) as c:
        yield c


# E3DC register image ----------------------------------------------------------------


async def test_magic_identity_and_strings(client: RawClient) -> None:
    words = await client.read(40000, 67)
    assert words[0] == 0xE3DC
    assert words[1] >> 8 == 1
    assert words[1] & 0xFF == 90
    assert ascii_string(words[3:19]) == "HagerEnergy GmbH"
    assert ascii_string(words[19:35]) == "S10 X Compact"
    assert ascii_string(words[35:51]) == "S10-SIM-000001"
    assert ascii_string(words[51:67]) == "S10_2024_05"
    # First character in the high byte, NUL padding after the text.
    assert words[3] == (ord("H") << 8) | ord("a")
    assert words[18] == 0


async def test_wrong_magic(device: E3dcDevice, client: RawClient) -> None:
    device.wrong_magic = True
    assert await client.read(40000, 1) == [0]


async def test_negative_values_low_word_first(model: SiteModel, client: RawClient) -> None:
    model.pv_override = 6000.0
    model.house_override = 500.0
    model.battery_enabled = False
    words = await client.read(40067, 16)
    # Grid export of 5500 W: PDU 40073 low word, 40074 high word.
    assert words[40073 - 40067] == (-5500) & 0xFFFF
    assert words[40074 - 40067] == 0xFFFF
    assert i32_low_word_first(words, 40073, 40067) == -5500
    assert i32_low_word_first(words, 40067, 40067) == 6000
    assert i32_low_word_first(words, 40071, 40067) == 500
    assert i32_low_word_first(words, 40069, 40067) == 0

    model.battery_enabled = True
    model.battery_override = -1200.0
    model.pv_override = 0.0
    model.house_override = 3100.0
    words = await client.read(40067, 8)
    assert i32_low_word_first(words, 40069, 40067) == -1200
    assert i32_low_word_first(words, 40073, 40067) == 1900  # import, small positive
    assert words[40073 - 40067 : 40075 - 40067] == [1900, 0]


async def test_balance_and_status_words(model: SiteModel, client: RawClient) -> None:
    model.additional_feeder_w = -800.0
    model.loads["wallbox"] = (3680.0, 0.0, 0.0)
    for _ in range(20):
        model.step(1.0)
    words = await client.read(40000, 125) + await client.read(40125, 11)
    pv = i32_low_word_first(words, 40067)
    battery = i32_low_word_first(words, 40069)
    house = i32_low_word_first(words, 40071)
    grid = i32_low_word_first(words, 40073)
    additional = i32_low_word_first(words, 40075)
    assert (pv, house, additional) == (4000, 600 + 3680, -800)
    assert abs(pv - additional + grid - (battery + house)) <= 2
    assert i32_low_word_first(words, 40077) == 0
    autarky, self_consumption = words[81] >> 8, words[81] & 0xFF
    assert autarky == round(model.autarky_pct)
    assert self_consumption == round(model.self_consumption_pct)
    assert 0 <= autarky <= 100
    assert 0 <= self_consumption <= 100
    assert words[82] == round(model.soc_pct)
    assert words[83] == 2  # emergency power not active
    assert words[85:87] == [0, 0]  # holes
    assert words[87:95] == [0] * 8  # E3DC wallboxes
    # Meter 0: root meter, phases as i16 summing to the grid power.
    assert words[104] == 1
    phases = [i16(w) for w in words[105:108]]
    assert abs(sum(phases) - grid) <= 2
    assert phases[0] > phases[1]  # the one-phase wallbox sits on L1
    assert all(words[104 + 4 * i] == 0 for i in range(1, 8))


async def test_dc_strings(model: SiteModel, client: RawClient) -> None:
    model.pv_override = 5000.0
    words = await client.read(40095, 9)
    voltages, currents, powers = words[0:3], words[3:6], words[6:9]
    assert sum(powers) == pytest.approx(5000, abs=2)
    assert powers[2] == voltages[2] == currents[2] == 0
    for voltage, centiamps, power in zip(voltages[:2], currents[:2], powers[:2], strict=True):
        assert 100 < voltage < 1000
        # Current is in 0.01 A: V * I must give the string power.
        assert voltage * centiamps / 100 == pytest.approx(power, rel=0.01)


async def test_ems_and_wallbox_words_settable(device: E3dcDevice, client: RawClient) -> None:
    device.ems_status = 0b11
    device.wallbox_control[0] = 0b1_0000_0010_1001
    device.emergency_power = 1
    words = await client.read(40083, 5)
    assert words[0] == 1
    assert words[1] == 0b11
    assert words[4] == 0b1_0000_0010_1001


# Modbus protocol --------------------------------------------------------------------


async def test_exception_outside_defined_range(client: RawClient) -> None:
    assert await client.read_exception(39999, 1) == 2
    assert await client.read_exception(39999, 2) == 2
    assert await client.read_exception(40136, 2) == 2
    assert await client.read_exception(0, 10) == 2
    assert await client.read(40135, 1) == [0]


async def test_the_whole_block_a_real_s10_answers(device: E3dcDevice, client: RawClient) -> None:
    """40000 up to and including 40136 (the SG-Ready state): third-party clients read it."""
    device.sg_ready_state = 2
    assert len(await client.read(40012, 125)) == 125
    assert await client.read(40136, 1) == [2]
    assert (await client.read(40002, 1))[0] == 137
    assert len(await client.read(40011, 125)) == 125


async def test_count_limits_and_functions(client: RawClient) -> None:
    assert await client.read_exception(40000, 126) == 3
    assert await client.read_exception(40000, 0) == 3
    assert await client.read_exception(40000, 126, function=4) == 3
    assert len(await client.read(40000, 125)) == 125
    # FC04 reads the same image.
    response = await client.request(struct.pack(">BHH", 4, 40000, 1))
    assert response == bytes((4, 2, 0xE3, 0xDC))
    # Unknown function and the read-only device.
    assert await client.request(bytes((0x2B, 0x0E, 0x01, 0x00))) == bytes((0xAB, 1))
    assert await client.request(struct.pack(">BHH", 6, 40000, 1)) == bytes((0x86, 2))
    write_multiple = struct.pack(">BHHBH", 16, 40000, 1, 2, 1)
    assert await client.request(write_multiple) == bytes((0x90, 2))


async def test_unit_id_echoed(client: RawClient) -> None:
    for unit in (0, 1, 7, 255):
        response = await client.request(struct.pack(">BHH", 3, 40000, 1), unit=unit)
        assert response == bytes((3, 2, 0xE3, 0xDC))


async def test_register_image_writes_and_unit_filter() -> None:
    image = RegisterImage({100: 1, 101: 2, 102: 3}, writable=[101, 102], unit_ids=frozenset({1}))
    async with ModbusTcpServer(image) as srv, connect(srv) as c:
        single = struct.pack(">BHH", 6, 101, 0xBEEF)
        assert await c.request(single) == single
        multiple = struct.pack(">BHHBHH", 16, 101, 2, 4, 7, 8)
        assert await c.request(multiple) == struct.pack(">BHH", 16, 101, 2)
        assert await c.read(100, 3) == [1, 7, 8]
        assert await c.request(struct.pack(">BHH", 6, 100, 5)) == bytes((0x86, 2))
        bad_byte_count = struct.pack(">BHHBH", 16, 101, 2, 2, 7)
        assert await c.request(bad_byte_count) == bytes((0x90, 3))
        assert await c.request(struct.pack(">BHH", 3, 100, 1), unit=2) == bytes((0x83, 0x0B))


async def test_pipelined_and_fragmented_requests(client: RawClient) -> None:
    frames = [
        client.frame(struct.pack(">BHH", 3, 40000, 1), transaction=11),
        client.frame(struct.pack(">BHH", 3, 39000, 1), transaction=12),
        client.frame(struct.pack(">BHH", 3, 40082, 1), unit=9, transaction=13),
    ]
    client.writer.write(b"".join(frames))
    await client.writer.drain()
    answers = [await client.receive() for _ in frames]
    assert [(t, u) for t, u, _ in answers] == [(11, 1), (12, 1), (13, 9)]
    assert answers[0][2] == bytes((3, 2, 0xE3, 0xDC))
    assert answers[1][2] == bytes((0x83, 2))
    # One frame split over several TCP segments.
    frame = client.frame(struct.pack(">BHH", 3, 40000, 1), transaction=99)
    for chunk in (frame[:3], frame[3:8], frame[8:]):
        client.writer.write(chunk)
        await client.writer.drain()
        await asyncio.sleep(0.02)
    assert await client.receive() == (99, 1, bytes((3, 2, 0xE3, 0xDC)))


async def test_bad_protocol_id_closes(server: ModbusTcpServer, client: RawClient) -> None:
    client.writer.write(struct.pack(">HHHB", 1, 1, 6, 1) + struct.pack(">BHH", 3, 40000, 1))
    await client.writer.drain()
    assert await client.is_closed()
    async with connect(server) as other:
        other.writer.write(struct.pack(">HHHB", 1, 0, 4000, 1))
        await other.writer.drain()
        assert await other.is_closed()


async def test_stop_closes_clients(device: E3dcDevice) -> None:
    srv = ModbusTcpServer(device)
    await srv.start()
    async with connect(srv) as c:
        assert await c.read(40000, 1) == [0xE3DC]
        await srv.stop()
        assert await c.is_closed()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", srv.port)
    await srv.stop()  # idempotent


# Faults -----------------------------------------------------------------------------


async def test_fault_refuse_connections(server: ModbusTcpServer) -> None:
    server.faults.refuse_connections = True
    async with connect(server) as c:
        c.writer.write(c.frame(struct.pack(">BHH", 3, 40000, 1)))
        assert await c.is_closed()
    assert server.faults.connections_refused == 1
    server.faults.refuse_connections = False
    async with connect(server) as c:
        assert await c.read(40000, 1) == [0xE3DC]
    assert server.faults.connections_total == 2


async def test_fault_delay(server: ModbusTcpServer, client: RawClient) -> None:
    server.faults.delay_s = 0.3
    started = time.monotonic()
    assert await client.read(40000, 1) == [0xE3DC]
    assert time.monotonic() - started >= 0.3


async def test_fault_drop_mid_request(server: ModbusTcpServer, client: RawClient) -> None:
    server.faults.drop_mid_request = True
    client.writer.write(client.frame(struct.pack(">BHH", 3, 40000, 1)))
    await client.writer.drain()
    assert await client.is_closed()
    assert server.faults.requests_total == 1


async def test_fault_exception_code(server: ModbusTcpServer, client: RawClient) -> None:
    server.faults.exception_code = 4
    assert await client.read_exception(40000, 1) == 4
    assert await client.read_exception(40000, 1, function=4) == 4
    server.faults.exception_code = None
    assert await client.read(40000, 1) == [0xE3DC]


async def test_fault_freeze(model: SiteModel, server: ModbusTcpServer, client: RawClient) -> None:
    model.battery_enabled = False
    model.pv_override = 1000.0
    before = await client.read(40067, 8)
    server.faults.freeze = True
    model.pv_override = 3000.0  # changed before any read: must not show
    model.step(10.0)
    assert await client.read(40067, 8) == before
    assert await client.read_exception(40137, 1) == 2  # same address rules while frozen
    server.faults.freeze = False
    assert i32_low_word_first(await client.read(40067, 2), 40067, 40067) == 3000


async def test_fault_max_connections(server: ModbusTcpServer, client: RawClient) -> None:
    server.faults.max_connections = 1
    assert await client.read(40000, 1) == [0xE3DC]
    async with connect(server) as second:
        assert await second.is_closed()
    assert await client.read(40000, 1) == [0xE3DC]
    assert server.faults.connections_refused == 1


async def test_drop_connections(server: ModbusTcpServer, client: RawClient) -> None:
    assert await client.read(40000, 1) == [0xE3DC]
    await server.drop_connections()
    assert await client.is_closed()
    assert server.connection_count == 0
    async with connect(server) as again:
        assert await again.read(40000, 1) == [0xE3DC]


# Model ------------------------------------------------------------------------------


def balance_error(model: SiteModel) -> float:
    return model.pv_w - model.additional_feeder_w + model.grid_w - (model.battery_w + model.house_w)


def test_model_day_with_clouds() -> None:
    model = SiteModel.scenario("clouds", seed=42, start_s=0.0)
    config = model.battery_config
    cuts: list[float] = []
    for _ in range(86400 // 4):
        model.step(4.0)
        assert abs(balance_error(model)) < 1e-6
        assert config.soc_min_pct <= model.soc_pct <= config.soc_max_pct
        assert -config.max_discharge_w <= model.battery_w <= config.max_charge_w
        assert model.pv_w >= 0
        assert sum(model.grid_phase_w()) == pytest.approx(model.grid_w, abs=1e-6)
        if model.clear_sky_pv_w > 0:
            cuts.append(model.cloud_cut)
    assert model.t_s == pytest.approx(0.0, abs=1e-6)
    assert 0 < max(cuts) <= 0.8
    assert max(cuts) >= 0.4
    assert sum(1 for c in cuts if c > 0) > 100
    energy = model.energy
    produced = energy.pv_wh + energy.additional_production_wh + energy.grid_import_wh
    used = energy.house_wh + energy.battery_charge_wh - energy.battery_discharge_wh
    assert produced - energy.grid_export_wh == pytest.approx(used, rel=1e-9)
    stored = (model.soc_pct - 50.0) / 100 * config.capacity_wh
    assert energy.battery_charge_wh - energy.battery_discharge_wh == pytest.approx(stored)
    assert 20_000 < energy.pv_wh < 90_000
    assert energy.grid_export_wh > 0
    assert energy.house_wh > 350 * 24


def test_model_is_deterministic() -> None:
    def trace(seed: int) -> list[tuple[float, float, float]]:
        model = SiteModel.scenario("clouds", seed=seed)
        rows: list[tuple[float, float, float]] = []
        for _ in range(3000):
            model.step(1.0)
            rows.append((model.pv_w, model.house_w, model.grid_w))
        return rows

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


def test_battery_lag_makes_grid_transients() -> None:
    model = SiteModel.scenario("constant")
    model.house_override = 1000.0
    for _ in range(60):
        model.step(1.0)
    assert model.grid_w == pytest.approx(0.0, abs=1.0)
    model.loads["kettle"] = 2000.0
    assert model.grid_w == pytest.approx(2000.0, abs=1.0)  # battery has not reacted yet
    model.step(0.5)
    expected = 2000.0 * math.exp(-0.5 / model.battery_config.time_constant_s)
    assert model.grid_w == pytest.approx(expected, rel=0.01)
    for _ in range(30):
        model.step(1.0)
    assert model.grid_w == pytest.approx(0.0, abs=1.0)


def test_battery_limits_and_soc() -> None:
    model = SiteModel.scenario("constant")
    model.pv_override = 10_000.0
    model.soc_pct = 99.9
    model.step(60.0)
    assert model.battery_w <= 3000.0
    assert model.soc_pct == pytest.approx(100.0)
    model.step(1.0)
    assert model.battery_w == 0.0
    assert model.grid_w == pytest.approx(600 - 10_000)

    model.pv_override = 0.0
    model.house_override = 5000.0
    model.soc_pct = 6.0
    for _ in range(600):
        model.step(1.0)
    assert model.soc_pct == pytest.approx(5.0)
    assert model.battery_w == 0.0
    assert model.grid_w == pytest.approx(5000.0)

    model.battery_enabled = False
    model.soc_pct = 60.0
    model.pv_override = 1500.0
    assert model.grid_w == pytest.approx(3500.0)
    model.step(10.0)
    assert model.soc_pct == 60.0


def test_scenarios() -> None:
    sunny = SiteModel.scenario("sunny", seed=1, start_s=13 * 3600)
    winter = SiteModel.scenario("winter", seed=1, start_s=13 * 3600)
    night = SiteModel.scenario("sunny", seed=1, start_s=2 * 3600)
    assert sunny.pv_w > winter.pv_w > 0
    assert night.pv_w == 0
    assert SiteModel.scenario("constant").pv_w == 4000.0
    with pytest.raises(ValueError, match="unknown scenario"):
        SiteModel.scenario("hail")


def test_day_rollover_keeps_unix_time_monotonic() -> None:
    model = SiteModel(start_s=86000.0, day_start=1_700_000_000.0)
    before = model.unix_time
    model.step(800.0)
    assert model.t_s == pytest.approx(400.0)
    assert model.unix_time == pytest.approx(before + 800.0)


# Runner and command line ------------------------------------------------------------


async def test_simulated_site_steps_and_stops() -> None:
    model = SiteModel.scenario("constant")
    site = SimulatedSite(model, speed=100.0, step_interval_s=0.05)
    site.add_device("e3dc", E3dcDevice(model), faults=Faults(max_connections=1))
    async with site:
        async with connect(site.servers["e3dc"]) as c:
            assert await c.read(40000, 1) == [0xE3DC]
        await asyncio.sleep(0.3)
        assert model.elapsed_s > 10
        assert "e3dc" in site.status_line()
    elapsed = model.elapsed_s
    await asyncio.sleep(0.1)
    assert model.elapsed_s == elapsed


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--e3dc", "--scenario", "--seed", "--speed", "--start", "--status-interval"):
        assert option in out


@pytest.fixture
def cli_process() -> Iterator[subprocess.Popen[str]]:
    args = [
        "--e3dc=127.0.0.1:0",
        "--amtron=127.0.0.1:0",
        "--pac2200=127.0.0.1:0",
        "--dctr=127.0.0.1:0",
        "--speed=60",
        "--start=06:30",
        "--status-interval=0.2",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_cli_runs_and_stops_on_ctrl_c(cli_process: subprocess.Popen[str]) -> None:
    assert cli_process.stderr is not None
    for line in cli_process.stderr:
        if "listening on" in line:
            break
    time.sleep(0.5)
    cli_process.send_signal(signal.SIGINT)
    _, err = cli_process.communicate(timeout=10)
    assert cli_process.returncode == 0
    assert "06:3" in err
    assert "stopped" in err


def test_replay_matches_pinned_steps() -> None:
    """`SiteModel.replay` gives exactly what `step_pinned(1.0)` gives, value pair by pair."""
    rng = random.Random(4)
    pv = [max(0.0, 5000.0 + rng.gauss(0.0, 3000.0)) for _ in range(4000)]
    house = [300.0 + rng.random() * 4000.0 for _ in range(4000)]
    model = SiteModel(battery=BatteryConfig(capacity_wh=2000.0), soc_pct=50.0, start_s=0.0)
    fast = copy.deepcopy(model)
    for p, h in zip(pv, house, strict=True):
        model.pv_override, model.house_override = p, h
        model.step_pinned(1.0)
    fast.replay(pv, house)
    assert fast.energy == model.energy
    assert (fast.soc_pct, fast.battery_w, fast.t_s) == (model.soc_pct, model.battery_w, model.t_s)
    assert model.energy.battery_charge_wh > 0
    assert model.energy.battery_discharge_wh > 0
    # With a load that changes every second: `after` against a stepper setting `loads`.
    loads = [float(rng.randrange(0, 11000)) for _ in range(len(pv))]
    stepped, replayed = copy.deepcopy(fast), copy.deepcopy(fast)
    second = [0]

    def stepper(_dt: float) -> None:
        stepped.loads["car"] = (loads[second[0]] / 3, loads[second[0]] / 3, loads[second[0]] / 3)

    stepped.steppers.append(stepper)
    for i, (p, h) in enumerate(zip(pv, house, strict=True)):
        second[0] = i
        stepped.pv_override, stepped.house_override = p, h
        stepped.step_pinned(1.0)
    seen: list[float] = []

    def after(i: int, _battery: float, _soc: float, grid: float) -> float:
        seen.append(grid)
        nxt = loads[min(i + 1, len(loads) - 1)]
        return sum((nxt / 3, nxt / 3, nxt / 3))

    first = loads[0]
    replayed.replay(pv, house, after, sum((first / 3, first / 3, first / 3)))
    assert replayed.energy == stepped.energy
    assert seen[-1] == stepped.grid_w
    # The weather alone draws what `step` draws.
    a, b = SiteModel.scenario("clouds", seed=3), SiteModel.scenario("clouds", seed=3)
    for _ in range(3000):
        a.step(1.0)
        b.step_weather(1.0)
    assert (a.pv_w, a.household_w) == (b.pv_w, b.household_w)
    with pytest.raises(ValueError, match="pv_override"):
        SiteModel().step_pinned(1.0)
    fast.loads["wallbox"] = 1000.0
    with pytest.raises(ValueError, match="loads"):
        fast.replay([1.0], [1.0])
