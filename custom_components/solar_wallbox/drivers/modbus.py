"""Async Modbus TCP transport shared by every device driver (no Home Assistant imports).

One :class:`ModbusConnection` per device: a single persistent TCP connection, requests
serialised by a lock, a per-request timeout, and reconnects with exponential back-off that
only ever delays the device that failed. Decode helpers turn raw registers into values,
mapping the devices' "not available" markers and NaN to ``None``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Protocol

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

_LOGGER = logging.getLogger(__name__)

MAX_REGISTERS_PER_READ: Final = 125
# The longest Modbus TCP frame is 260 bytes; a frame header may claim up to 65535 + 6.
MAX_BUFFERED_BYTES: Final = 65_541
DEFAULT_TIMEOUT: Final = 3.0
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 60.0

# Exception codes a Modbus gateway answers for a unit it cannot reach (wrong unit id).
GATEWAY_EXCEPTION_CODES: Final = frozenset({0x0A, 0x0B})

U16_NA: Final = 0xFFFF
U32_NA: Final = 0xFFFFFFFF


class ModbusError(Exception):
    """Base class of every error a driver raises."""


class CannotConnect(ModbusError):
    """The TCP connection could not be opened (or is in back-off after a failure)."""


class RequestTimeout(ModbusError):
    """The device did not answer within the request timeout."""


class ModbusExceptionResponse(ModbusError):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, address: int, count: int) -> None:
        """Keep the exception code and the request it answered."""
        super().__init__(f"Modbus exception {code} for {count} register(s) at {address}")
        self.code = code
        self.address = address
        self.count = count


class InvalidResponse(ModbusError):
    """The device answered with something that is not what was asked for."""


class WrongDevice(ModbusError):
    """The device answers, but it is not the kind of device expected."""


class WordOrder(Enum):
    """Order of the two 16-bit words of a 32-bit value."""

    HIGH_FIRST = "high_first"
    LOW_FIRST = "low_first"


@dataclass
class TransportStats:
    """Counters for diagnostics."""

    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    connects: int = 0
    reconnects: int = 0
    last_poll_duration: float | None = None
    last_poll_requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as a plain dict."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "connects": self.connects,
            "reconnects": self.reconnects,
            "last_poll_duration": self.last_poll_duration,
            "last_poll_requests": self.last_poll_requests,
        }


class _Pdu(Protocol):
    """What pymodbus responses have in common across versions."""

    registers: list[int]

    def isError(self) -> bool:  # noqa: N802  (pymodbus' name)
        """Return True for an exception response."""


_UNIT_KEYWORD: str | None = None


def unit_keyword() -> str:
    """Return pymodbus' keyword for the unit id: ``slave`` (< 3.10) or ``device_id``."""
    global _UNIT_KEYWORD  # noqa: PLW0603  (detected once per process)
    if _UNIT_KEYWORD is None:
        params = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
        _UNIT_KEYWORD = "device_id" if "device_id" in params else "slave"
    return _UNIT_KEYWORD


ClientFactory = Callable[[str, int, float], AsyncModbusTcpClient]


def _default_client_factory(host: str, port: int, timeout: float) -> AsyncModbusTcpClient:
    # pymodbus' own reconnect and retry logic is disabled: this class owns both, so that
    # the behaviour is the same on every supported pymodbus version.
    client = AsyncModbusTcpClient(
        host, port=port, timeout=timeout + 1.0, retries=0, reconnect_delay=0
    )
    _ignore_unsolicited_answers(client)
    return client


def _ignore_unsolicited_answers(client: AsyncModbusTcpClient) -> None:
    """Drop answers that arrive when no request waits for one, and endless garbage.

    pymodbus < 3.10 hands every received frame to the pending request's future; a frame
    that arrives when that future is already done (a duplicated or unsolicited answer from
    a device or anything else on the LAN) raised InvalidStateError inside asyncio's
    data_received and was logged as an error, and a second frame arriving together with
    the answer was kept and handed to the next request as its answer. Bytes that cannot
    be the awaited answer (none awaited, not Modbus TCP, longer than any frame) are
    dropped before pymodbus sees them.
    """
    ctx: Any = getattr(client, "ctx", None)
    original = getattr(ctx, "callback_data", None)
    if ctx is None or original is None or not hasattr(ctx, "response_future"):
        return  # pragma: no cover  (a pymodbus without this structure)

    def callback_data(data: bytes, addr: tuple[str, int] | None = None) -> int:
        future: asyncio.Future[Any] = ctx.response_future
        used: int = original(data, addr)
        # One request at a time: once the answer is taken, whatever follows it in the
        # buffer cannot belong to us (pymodbus < 3.10 would hand it to the next request).
        return len(data) if future.done() else used

    ctx.callback_data = callback_data

    received = getattr(ctx, "datagram_received", None)
    if received is None or not hasattr(ctx, "recv_buffer"):
        return  # pragma: no cover  (a pymodbus without this structure)

    def datagram_received(data: bytes, addr: tuple[str, int] | None) -> None:
        # Before pymodbus sees the bytes: from 3.10 it keeps the last 20 received chunks
        # for error reports and, with debug logging on, writes a hex dump of each (256 kB
        # of garbage per read: megabytes of log lines).
        pending: bytes = ctx.recv_buffer
        head = pending[:4] + data[: max(0, 4 - len(pending))]
        if (
            ctx.response_future.done()
            or len(pending) + len(data) > MAX_BUFFERED_BYTES
            or (len(head) >= 4 and head[2:4] != b"\x00\x00")
        ):
            _LOGGER.debug("dropping %d bytes that are no awaited Modbus answer", len(data))
            ctx.recv_buffer = b""
            return
        received(data, addr)

    ctx.datagram_received = datagram_received


class ModbusConnection:
    """One persistent Modbus TCP connection to one device."""

    def __init__(
        self,
        host: str,
        port: int,
        unit_id: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        clock: Callable[[], float] = time.monotonic,
        client_factory: ClientFactory = _default_client_factory,
    ) -> None:
        """Describe the connection; nothing is opened before the first request."""
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.timeout = timeout
        self.stats = TransportStats()
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._clock = clock
        self._client_factory = client_factory
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._backoff = 0.0
        self._next_attempt = 0.0
        self._ever_connected = False
        self._closed = False

    @property
    def connected(self) -> bool:
        """Return True while the TCP connection is open."""
        return self._client is not None and bool(self._client.connected)

    @property
    def retry_in(self) -> float:
        """Seconds until the next connection attempt is allowed (0 = now)."""
        return max(0.0, self._next_attempt - self._clock())

    async def close(self) -> None:
        """Close the connection; a later request opens it again."""
        async with self._lock:
            self._drop_client()
            self._closed = True

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _ensure_connected(self) -> AsyncModbusTcpClient:
        if self._client is not None:
            # Let a pending close of an idle connection (peer sent EOF) run first, so a
            # request is never sent into a connection that is already going away.
            await asyncio.sleep(0)
            if self._client is not None and self._client.connected:
                return self._client
        self._drop_client()
        if self._clock() < self._next_attempt:
            raise CannotConnect(
                f"{self.host}:{self.port} unreachable, next attempt in {self.retry_in:.0f} s"
            )
        client = self._client_factory(self.host, self.port, self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException) as err:
            client.close()
            self._register_connect_failure()
            raise CannotConnect(f"cannot connect to {self.host}:{self.port}: {err}") from err
        if not ok or not client.connected:
            client.close()
            self._register_connect_failure()
            raise CannotConnect(f"cannot connect to {self.host}:{self.port}")
        self.stats.connects += 1
        if self._ever_connected or self._closed:
            self.stats.reconnects += 1
        self._ever_connected = True
        self._closed = False
        self._client = client
        return client

    def _register_connect_failure(self) -> None:
        self._backoff = (
            self._backoff_initial
            if self._backoff == 0
            else min(self._backoff * 2, self._backoff_max)
        )
        self._next_attempt = self._clock() + self._backoff

    def _register_io_failure(self) -> None:
        """Drop the connection after a broken exchange; the next request reconnects."""
        self._drop_client()

    async def _execute(
        self,
        call: Callable[[AsyncModbusTcpClient], Awaitable[_Pdu]],
        address: int,
        count: int,
    ) -> _Pdu:
        async with self._lock:
            client = await self._ensure_connected()
            self.stats.requests += 1
            self.stats.last_poll_requests += 1
            scope = asyncio.timeout(self.timeout)
            try:
                async with scope:
                    response = await call(client)
            except asyncio.CancelledError:
                # Cancelled from outside (shutdown, reload): an answer may still arrive for
                # this request, so never reuse the connection for the next one.
                self._register_io_failure()
                raise
            except (TimeoutError, ModbusException, OSError) as err:
                self.stats.errors += 1
                self._register_io_failure()
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # pymodbus >= 3.10 turns a cancellation into an exception; restore it.
                    raise asyncio.CancelledError from err
                if isinstance(err, TimeoutError) or scope.expired():
                    self.stats.timeouts += 1
                    raise RequestTimeout(
                        f"no answer from {self.host}:{self.port} within {self.timeout:g} s"
                    ) from err
                # pymodbus reports a closed or silent peer as a ModbusException.
                raise CannotConnect(f"connection to {self.host}:{self.port} lost: {err}") from err
            # A successful exchange proves the link: forget the back-off.
            self._backoff = 0.0
            self._next_attempt = 0.0
            if response.isError():
                self.stats.errors += 1
                code = int(getattr(response, "exception_code", 0))
                raise ModbusExceptionResponse(code, address, count)
            return response

    async def read_holding_registers(self, address: int, count: int) -> list[int]:
        """Read ``count`` holding registers (FC03), split into requests of at most 125."""
        return await self._read(address, count, input_registers=False)

    async def read_input_registers(self, address: int, count: int) -> list[int]:
        """Read ``count`` input registers (FC04), split into requests of at most 125."""
        return await self._read(address, count, input_registers=True)

    async def _read(self, address: int, count: int, *, input_registers: bool) -> list[int]:
        if count < 1:
            raise ValueError("count must be at least 1")
        result: list[int] = []
        for start in range(address, address + count, MAX_REGISTERS_PER_READ):
            n = min(MAX_REGISTERS_PER_READ, address + count - start)
            result.extend(await self._read_block(start, n, input_registers=input_registers))
        return result

    async def _read_block(self, address: int, count: int, *, input_registers: bool) -> list[int]:
        kwargs: dict[str, Any] = {"count": count, unit_keyword(): self.unit_id}

        async def call(client: AsyncModbusTcpClient) -> _Pdu:
            if input_registers:
                response: _Pdu = await client.read_input_registers(address, **kwargs)
            else:
                response = await client.read_holding_registers(address, **kwargs)
            return response

        response = await self._execute(call, address, count)
        registers = list(response.registers)
        if len(registers) != count:
            # Fewer is a broken answer; more is one that does not belong to this request.
            self.stats.errors += 1
            raise InvalidResponse(f"asked for {count} registers at {address}, got {len(registers)}")
        return registers

    async def write_register(self, address: int, value: int) -> None:
        """Write one holding register (FC06)."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"register value {value} out of range")
        kwargs: dict[str, Any] = {unit_keyword(): self.unit_id}

        async def call(client: AsyncModbusTcpClient) -> _Pdu:
            response: _Pdu = await client.write_register(address, value, **kwargs)
            return response

        await self._execute(call, address, 1)

    async def read_device_identification(
        self, read_code: int = 0x01, object_id: int = 0x00
    ) -> dict[int, str] | None:
        """Read Device Identification (FC 43 / MEI 14), stream access from ``object_id``.

        ``read_code``: 1 basic (objects 0 vendor, 1 product code, 2 revision), 2 regular,
        3 extended. Follows "more follows" for at most 4 requests. Returns the objects as
        text (non-printable bytes dropped, padding stripped), or None when the device
        answers with an exception response (function or category not supported).
        Transport errors (timeout, connection lost) are raised as for every other request.
        """

        def text(raw: object) -> str:
            data = raw if isinstance(raw, bytes) else str(raw).encode("latin-1", "replace")
            return "".join(chr(b) for b in data if 0x20 <= b < 0x7F).strip()

        objects: dict[int, str] = {}
        next_id = object_id
        for _ in range(4):
            start = next_id
            kwargs: dict[str, Any] = {
                "read_code": read_code,
                "object_id": start,
                unit_keyword(): self.unit_id,
            }

            async def call(client: AsyncModbusTcpClient, request: dict[str, Any] = kwargs) -> _Pdu:
                response: _Pdu = await client.read_device_information(**request)
                return response

            try:
                response = await self._execute(call, start, 1)
            except ModbusExceptionResponse:
                return objects or None
            information = getattr(response, "information", None)
            if not isinstance(information, dict):
                self.stats.errors += 1
                raise InvalidResponse("device identification answer without objects")
            for key, value in information.items():
                parts = value if isinstance(value, list) else [value]
                objects[int(key)] = "".join(text(part) for part in parts).strip()
            more = int(getattr(response, "more_follows", 0))
            next_id = int(getattr(response, "next_object_id", 0))
            if more != 0xFF or next_id <= start:
                break
        return objects

    @contextmanager
    def measure_poll(self) -> Iterator[None]:
        """Record the duration and request count of one poll (for diagnostics)."""
        self.stats.last_poll_requests = 0
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stats.last_poll_duration = time.perf_counter() - start


# --------------------------------------------------------------------------------------
# Decode helpers (pure functions over register lists)


def u16(regs: Sequence[int], index: int = 0, *, na: int | None = None) -> int | None:
    """Unsigned 16-bit value; ``na`` is the device's "not available" marker."""
    value = regs[index] & 0xFFFF
    return None if na is not None and value == na else value


def i16(regs: Sequence[int], index: int = 0) -> int:
    """Signed 16-bit value (two's complement)."""
    value = regs[index] & 0xFFFF
    return value - 0x10000 if value & 0x8000 else value


def u32(
    regs: Sequence[int],
    index: int = 0,
    *,
    word_order: WordOrder,
    na: int | None = None,
) -> int | None:
    """Unsigned 32-bit value from two registers in the given word order."""
    first, second = regs[index] & 0xFFFF, regs[index + 1] & 0xFFFF
    hi, lo = (first, second) if word_order is WordOrder.HIGH_FIRST else (second, first)
    value = (hi << 16) | lo
    return None if na is not None and value == na else value


def i32(regs: Sequence[int], index: int = 0, *, word_order: WordOrder) -> int:
    """Signed 32-bit value from two registers in the given word order."""
    value = u32(regs, index, word_order=word_order)
    assert value is not None
    return value - 0x1_0000_0000 if value & 0x8000_0000 else value


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def float32(regs: Sequence[int], index: int = 0) -> float | None:
    """IEEE-754 float32, big-endian, high word first; NaN/inf → None."""
    raw = struct.pack(">HH", regs[index] & 0xFFFF, regs[index + 1] & 0xFFFF)
    return _finite(struct.unpack(">f", raw)[0])


def float64(regs: Sequence[int], index: int = 0) -> float | None:
    """IEEE-754 float64, big-endian, high word first; NaN/inf → None."""
    raw = struct.pack(">4H", *(r & 0xFFFF for r in regs[index : index + 4]))
    return _finite(struct.unpack(">d", raw)[0])


def ascii_string(regs: Sequence[int], index: int = 0, count: int | None = None) -> str:
    """ASCII text, two characters per register (high byte first).

    Padding spaces and NULs are stripped from both ends; bytes that are not printable
    ASCII are dropped so a garbled register never produces control characters.
    """
    words = regs[index:] if count is None else regs[index : index + count]
    raw = b"".join(struct.pack(">H", w & 0xFFFF) for w in words)
    text = "".join(chr(b) for b in raw if 0x20 <= b < 0x7F or b == 0)
    return text.strip(" \x00").replace("\x00", "")


def high_byte(value: int) -> int:
    """High byte of a 16-bit register."""
    return (value >> 8) & 0xFF


def low_byte(value: int) -> int:
    """Low byte of a 16-bit register."""
    return value & 0xFF


def bit(value: int, index: int) -> bool:
    """Return bit ``index`` of ``value``."""
    return bool((value >> index) & 1)
