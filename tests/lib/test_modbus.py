"""The Modbus transport against the simulator's server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import math
import socket
import struct

import pytest

from custom_components.solar_wallbox.drivers import modbus
from custom_components.solar_wallbox.drivers.modbus import (
    CannotConnect,
    InvalidResponse,
    ModbusConnection,
    ModbusExceptionResponse,
    RequestTimeout,
    WordOrder,
)
from simulator.modbus_server import ModbusTcpServer, RegisterImage

from ..conftest import SimulatedDevice


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_read_splits_at_125_registers(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    try:
        regs = await conn.read_holding_registers(40000, 136)
        assert len(regs) == 136
        assert regs[0] == 0xE3DC
        assert e3dc_sim.server.faults.requests_total == 2
        assert conn.stats.requests == 2
        assert conn.stats.connects == 1
        assert conn.connected
    finally:
        await conn.close()
    assert not conn.connected


async def test_input_registers_and_count_validation(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    try:
        assert (await conn.read_input_registers(40000, 1)) == [0xE3DC]
        with pytest.raises(ValueError, match="count"):
            await conn.read_holding_registers(40000, 0)
    finally:
        await conn.close()


async def test_exception_response_keeps_the_connection(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    try:
        with pytest.raises(ModbusExceptionResponse) as info:
            await conn.read_holding_registers(30000, 2)
        assert info.value.code == 2
        assert info.value.address == 30000
        # Writing to the read-only E3DC is refused the same way.
        with pytest.raises(ModbusExceptionResponse):
            await conn.write_register(40067, 1)
        assert conn.connected
        assert (await conn.read_holding_registers(40000, 1)) == [0xE3DC]
        assert conn.stats.errors == 2
        assert conn.stats.connects == 1
    finally:
        await conn.close()


async def test_write_register_reaches_the_device() -> None:
    image = RegisterImage({1000: 32}, writable={1000})
    async with ModbusTcpServer(image) as server:
        conn = ModbusConnection("127.0.0.1", server.port, 255)
        try:
            await conn.write_register(1000, 10)
            assert (await conn.read_holding_registers(1000, 1)) == [10]
            with pytest.raises(ValueError, match="out of range"):
                await conn.write_register(1000, 0x10000)
        finally:
            await conn.close()


async def test_timeout_then_recovery(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=0.2)
    try:
        e3dc_sim.server.faults.delay_s = 1.0
        with pytest.raises(RequestTimeout):
            await conn.read_holding_registers(40000, 1)
        assert conn.stats.timeouts == 1
        assert not conn.connected  # a timed-out exchange is never reused
        e3dc_sim.server.faults.delay_s = 0.0
        assert (await conn.read_holding_registers(40000, 1)) == [0xE3DC]
        assert conn.stats.reconnects == 1
    finally:
        await conn.close()


async def test_drop_mid_request_is_connection_loss(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=1.0)
    try:
        await conn.read_holding_registers(40000, 1)
        e3dc_sim.server.faults.drop_mid_request = True
        with pytest.raises((CannotConnect, RequestTimeout)):
            await conn.read_holding_registers(40000, 1)
        e3dc_sim.server.faults.drop_mid_request = False
        assert (await conn.read_holding_registers(40000, 1)) == [0xE3DC]
    finally:
        await conn.close()


async def test_refused_connection_backs_off_exponentially() -> None:
    clock = FakeClock()
    conn = ModbusConnection("127.0.0.1", free_port(), 1, timeout=0.5, clock=clock)
    waits = []
    for _ in range(8):
        with pytest.raises(CannotConnect):
            await conn.read_holding_registers(0, 1)
        waits.append(conn.retry_in)
        # Within the back-off no connection is even tried.
        with pytest.raises(CannotConnect, match="next attempt"):
            await conn.read_holding_registers(0, 1)
        clock.now += conn.retry_in
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert conn.stats.connects == 0
    await conn.close()


async def test_backoff_resets_after_success(e3dc_sim: SimulatedDevice) -> None:
    clock = FakeClock()
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=0.5, clock=clock)
    try:
        e3dc_sim.server.faults.refuse_connections = True
        for _ in range(3):
            with pytest.raises(CannotConnect):
                await conn.read_holding_registers(40000, 1)
            clock.now += conn.retry_in
        e3dc_sim.server.faults.refuse_connections = False
        assert (await conn.read_holding_registers(40000, 1)) == [0xE3DC]
        assert conn.retry_in == 0
        await e3dc_sim.server.drop_connections()
        e3dc_sim.server.faults.refuse_connections = True
        with pytest.raises(CannotConnect):
            await conn.read_holding_registers(40000, 1)
        with pytest.raises(CannotConnect):
            await conn.read_holding_registers(40000, 1)
        assert conn.retry_in == 1  # back to the first step
    finally:
        await conn.close()


async def test_one_failing_device_does_not_block_another(e3dc_sim: SimulatedDevice) -> None:
    slow = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=0.5)
    other_sim = ModbusTcpServer(RegisterImage({0: 7}))
    await other_sim.start()
    fast = ModbusConnection("127.0.0.1", other_sim.port, 1)
    try:
        e3dc_sim.server.faults.delay_s = 2.0
        slow_task = asyncio.create_task(slow.read_holding_registers(40000, 1))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await fast.read_holding_registers(0, 1)) == [7]
        assert loop.time() - start < 0.3
        with pytest.raises(RequestTimeout):
            await slow_task
    finally:
        await slow.close()
        await fast.close()
        await other_sim.stop()


async def test_requests_are_serialised(e3dc_sim: SimulatedDevice) -> None:
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    try:
        results = await asyncio.gather(
            *(conn.read_holding_registers(40000 + i, 1) for i in range(10))
        )
        assert results[0] == [0xE3DC]
        assert e3dc_sim.server.connection_count == 1
        assert conn.stats.requests == 10
    finally:
        await conn.close()


async def test_short_response_is_invalid() -> None:
    """A response with fewer registers than asked for is rejected, not padded.

    Our simulator never sends such a frame, so a raw server answers one register to
    every read.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(7)
        tid, _, length, unit = struct.unpack(">HHHB", header)
        await reader.readexactly(length - 1)
        writer.write(struct.pack(">HHHBBBH", tid, 0, 5, unit, 3, 2, 42))
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = ModbusConnection("127.0.0.1", port, 1, timeout=1.0)
    try:
        with pytest.raises(InvalidResponse):
            await conn.read_holding_registers(0, 2)
    finally:
        await conn.close()
        server.close()
        await server.wait_closed()


def test_unit_keyword_matches_pymodbus() -> None:
    import inspect  # noqa: PLC0415

    from pymodbus.client import AsyncModbusTcpClient  # noqa: PLC0415

    params = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    assert modbus.unit_keyword() in params


def test_stats_as_dict() -> None:
    stats = modbus.TransportStats(requests=3, errors=1)
    assert stats.as_dict()["requests"] == 3
    assert set(stats.as_dict()) >= {"requests", "errors", "reconnects", "last_poll_duration"}


# -- decode helpers -------------------------------------------------------------------


def test_u16_i16_and_na() -> None:
    assert modbus.u16([0xFFFF]) == 0xFFFF
    assert modbus.u16([0xFFFF], na=0xFFFF) is None
    assert modbus.i16([0xFFFF]) == -1
    assert modbus.i16([0x8000]) == -32768
    assert modbus.i16([0x7FFF]) == 32767


def test_32_bit_word_orders() -> None:
    # E3DC example: grid import of 400 W reads 400, 0 (low word first).
    assert modbus.i32([400, 0], word_order=WordOrder.LOW_FIRST) == 400
    # -2200 W: 0xFFFFF768 → low word 0xF768, high word 0xFFFF.
    assert modbus.i32([0xF768, 0xFFFF], word_order=WordOrder.LOW_FIRST) == -2200
    assert modbus.i32([0xFFFF, 0xF768], word_order=WordOrder.HIGH_FIRST) == -2200
    # Amtron example: 200 = 0x0001, 201 = 0x1F40 → 73536 (high word first).
    assert modbus.u32([0x0001, 0x1F40], word_order=WordOrder.HIGH_FIRST) == 73536
    assert modbus.u32([0x1F40, 0x0001], word_order=WordOrder.LOW_FIRST) == 73536
    assert modbus.u32([0xFFFF, 0xFFFF], word_order=WordOrder.HIGH_FIRST, na=0xFFFFFFFF) is None


def _float_regs(fmt: str, value: float) -> list[int]:
    raw = struct.pack(fmt, value)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def test_floats_and_nan() -> None:
    assert modbus.float32(_float_regs(">f", 230.5)) == pytest.approx(230.5)
    assert modbus.float64(_float_regs(">d", 123456.789)) == pytest.approx(123456.789)
    assert modbus.float32(_float_regs(">f", math.nan)) is None
    assert modbus.float32(_float_regs(">f", math.inf)) is None
    assert modbus.float64(_float_regs(">d", -math.inf)) is None


def test_ascii_strips_spaces_nuls_and_garbage() -> None:
    assert modbus.ascii_string([0x4531, 0x3000, 0x0000]) == "E10"
    assert modbus.ascii_string([0x2020, 0x4142, 0x2000]) == "AB"
    assert modbus.ascii_string([0x4107, 0x4200]) == "AB"  # a control byte is dropped
    assert modbus.ascii_string([0x4142, 0x4344], 1, 1) == "CD"


def test_bytes_and_bits() -> None:
    assert modbus.high_byte(0x1A52) == 26
    assert modbus.low_byte(0x1A52) == 82
    assert modbus.bit(0b100, 2)
    assert not modbus.bit(0b100, 1)


async def test_cancellation_is_not_turned_into_an_error(e3dc_sim: SimulatedDevice) -> None:
    """Home Assistant cancels polls on shutdown; that must stay a cancellation."""
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=5)
    try:
        e3dc_sim.server.faults.delay_s = 2.0
        task = asyncio.create_task(conn.read_holding_registers(40000, 1))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not conn.connected
    finally:
        await conn.close()


async def test_unsolicited_answers_are_ignored(e3dc_sim: SimulatedDevice) -> None:
    """A second, unsolicited answer frame must neither error in asyncio nor be taken as
    the answer to the next request."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    reference = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1)
    try:
        e3dc_sim.server.faults.freeze = True  # same values for both connections
        blocks = [(40000, 3), (40003, 1), (40010, 4), (40000, 1), (40020, 2)]
        expected = [await reference.read_holding_registers(a, n) for a, n in blocks]
        await reference.close()
        e3dc_sim.server.faults.duplicate_response = True
        got = []
        for address, count in blocks:
            got.append(await conn.read_holding_registers(address, count))
            await asyncio.sleep(0.01)
        assert got == expected
    finally:
        loop.set_exception_handler(previous)
        await conn.close()
        await reference.close()
    assert errors == []


async def test_cancelled_request_never_reuses_the_connection(
    e3dc_sim: SimulatedDevice,
) -> None:
    """An answer to a cancelled request must not become the answer to the next one."""
    conn = ModbusConnection("127.0.0.1", e3dc_sim.port, 1, timeout=5)
    try:
        first = await conn.read_holding_registers(40000, 1)
        e3dc_sim.server.faults.delay_s = 0.2
        task = asyncio.create_task(conn.read_holding_registers(40000, 1))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        e3dc_sim.server.faults.delay_s = 0.0
        await asyncio.sleep(0.3)  # the late answer would arrive now
        assert await conn.read_holding_registers(40001, 1) != first or first == [0]
        assert conn.stats.connects == 2
    finally:
        await conn.close()
