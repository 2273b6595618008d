"""Small self-written asyncio Modbus TCP server with runtime fault injection.

Supported function codes: 03 and 04 (both read the same register image), 06 and 16, and
43 / MEI 14 (Read Device Identification) for devices with an optional
``device_identification: dict[int, str] | None`` attribute (object id → text; missing or
None answers exception 01 like a device without function 43). A device (see `SimDevice`)
decides which addresses exist; the server handles framing, request validation, unit ids
and the faults in `Faults`.

Unit ids: a device with ``unit_ids=None`` answers every unit id. Otherwise requests for
other unit ids get exception 0x0B (gateway target failed to respond), so a wrong unit id
fails fast instead of running into a client timeout.
"""

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType
from typing import Protocol, Self

_LOGGER = logging.getLogger(__name__)

# MBAP header: transaction id, protocol id, length (unit id + PDU), unit id.
_MBAP = struct.Struct(">HHHB")
_MAX_MBAP_LENGTH = 254  # unit id + largest PDU (253 bytes)
MAX_READ_COUNT = 125
MAX_WRITE_COUNT = 123


class ExceptionCode(IntEnum):
    """Modbus exception codes used by the simulators."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    GATEWAY_TARGET_FAILED = 0x0B


class ModbusDeviceError(Exception):
    """Raised by a device to answer a request with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        """Remember the exception code."""
        super().__init__(f"Modbus exception {code:#04x}")
        self.code = code


class SimDevice(Protocol):
    """A simulated device behind a `ModbusTcpServer`."""

    unit_ids: frozenset[int] | None
    """Unit ids answered; None answers every unit id."""

    def read_registers(self, address: int, count: int) -> list[int]:
        """Return `count` 16-bit words from `address`; raise `ModbusDeviceError` to refuse."""
        ...

    def write_registers(self, address: int, values: list[int]) -> None:
        """Write words from `address`; raise `ModbusDeviceError` to refuse."""
        ...

    def snapshot(self) -> "SimDevice":
        """Return a device frozen at the current register image (used by `Faults.freeze`)."""
        ...


class RegisterImage:
    """A fixed register map; reads of undefined addresses raise exception 02."""

    def __init__(
        self,
        registers: Mapping[int, int],
        *,
        writable: Iterable[int] = (),
        unit_ids: frozenset[int] | None = None,
    ) -> None:
        """Copy the register map; only addresses in `writable` accept writes."""
        self.registers = dict(registers)
        self.writable = frozenset(writable)
        self.unit_ids = unit_ids

    def read_registers(self, address: int, count: int) -> list[int]:
        """Return the stored words or raise exception 02 if any address is undefined."""
        try:
            return [self.registers[a] for a in range(address, address + count)]
        except KeyError:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS) from None

    def write_registers(self, address: int, values: list[int]) -> None:
        """Store the words if every address is writable, else raise exception 02."""
        addresses = range(address, address + len(values))
        if not all(a in self.writable for a in addresses):
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        self.registers.update(zip(addresses, values, strict=True))

    def snapshot(self) -> "RegisterImage":
        """Return an independent copy."""
        return RegisterImage(self.registers, writable=self.writable, unit_ids=self.unit_ids)


@dataclass
class Faults:
    """Faults of one server, switchable at runtime by assigning the attributes.

    - `refuse_connections`: accept, then reset every new connection at once.
    - `delay_s`: delay each response.
    - `drop_mid_request`: read a request, then close the connection without answering.
    - `exception_code`: answer every request with this Modbus exception code.
    - `freeze`: answer from the register image captured when freeze was switched on
      (writes go to that frozen copy and never reach the live device).
    - `max_connections`: further simultaneous connections are reset at once.
    - `duplicate_response`: send every answer twice, the copy 5 ms later (unsolicited).
    - `stall`: hold every answer while True (the device hangs; requests time out).
    - `garbage`: replace the registers of every read answer: "random" words, or "na"
      (0xFFFF, the devices' "not available" marker in 16-bit registers).

    Counters: `connections_total` counts every accepted TCP connection (refused ones
    included), `connections_refused` those reset by `refuse_connections` or
    `max_connections`, `requests_total` every complete request frame received.
    """

    refuse_connections: bool = False
    delay_s: float = 0.0
    drop_mid_request: bool = False
    exception_code: int | None = None
    freeze: bool = False
    max_connections: int | None = None
    duplicate_response: bool = False
    stall: bool = False
    garbage: str | None = None
    connections_total: int = 0
    connections_refused: int = 0
    requests_total: int = 0
    _freeze_listeners: list[Callable[[bool], None]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: object) -> None:
        """Notify freeze listeners when `freeze` changes."""
        changed = name == "freeze" and value != getattr(self, "freeze", False)
        super().__setattr__(name, value)
        if changed:
            for listener in getattr(self, "_freeze_listeners", ()):
                listener(bool(value))

    def watch_freeze(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(new_value)` whenever `freeze` changes."""
        self._freeze_listeners.append(listener)

    def unwatch_freeze(self, listener: Callable[[bool], None]) -> None:
        """Stop calling `listener`."""
        self._freeze_listeners.remove(listener)


class ModbusTcpServer:
    """Modbus TCP server for one `SimDevice`; use `async with` or start()/stop()."""

    def __init__(
        self,
        device: SimDevice,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        """Prepare the server; port 0 binds an ephemeral port (see `port`)."""
        self.device = device
        self.host = host
        self.faults = faults if faults is not None else Faults()
        self._requested_port = port
        self._port: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._frozen: SimDevice | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (the actual one when 0 was requested)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def connection_count(self) -> int:
        """Number of client connections currently served."""
        return len(self._connections)

    async def start(self) -> None:
        """Bind and start listening."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = await asyncio.start_server(self._handle, self.host, self._requested_port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        self.faults.watch_freeze(self._freeze_changed)
        self._freeze_changed(self.faults.freeze)

    async def stop(self) -> None:
        """Close the listening socket and every client connection, then wait for them."""
        server, self._server = self._server, None
        if server is None:
            return
        self.faults.unwatch_freeze(self._freeze_changed)
        server.close()
        await self.drop_connections()
        await server.wait_closed()

    async def drop_connections(self) -> None:
        """Close every open client connection and wait for its handler to finish."""
        connections = list(self._connections.items())
        for task, writer in connections:
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*(task for task, _ in connections), return_exceptions=True)

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    def _freeze_changed(self, frozen: bool) -> None:
        self._frozen = self.device.snapshot() if frozen else None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        faults = self.faults
        faults.connections_total += 1
        if faults.refuse_connections or (
            faults.max_connections is not None and len(self._connections) >= faults.max_connections
        ):
            faults.connections_refused += 1
            _reset(writer)
            return
        task = asyncio.current_task()
        assert task is not None  # start_server runs every handler in its own task
        self._connections[task] = writer
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            del self._connections[task]
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(_MBAP.size)
            transaction, protocol, length, unit = _MBAP.unpack(header)
            if protocol != 0 or not 2 <= length <= _MAX_MBAP_LENGTH:
                _LOGGER.debug("closing connection: bad MBAP header %s", header.hex())
                return
            pdu = await reader.readexactly(length - 1)
            self.faults.requests_total += 1
            if self.faults.drop_mid_request:
                return
            if self.faults.delay_s > 0:
                await asyncio.sleep(self.faults.delay_s)
            while self.faults.stall:  # noqa: ASYNC110  (a fault flag switched from outside)
                await asyncio.sleep(0.005)
            response = _garble(self._respond(unit, pdu), self.faults.garbage)
            frame = _MBAP.pack(transaction, 0, len(response) + 1, unit) + response
            writer.write(frame)
            await writer.drain()
            if self.faults.duplicate_response:
                await asyncio.sleep(0.005)  # arrives on its own, after the answer was taken
                writer.write(frame)
                await writer.drain()

    def _respond(self, unit: int, pdu: bytes) -> bytes:
        device = self._frozen if self._frozen is not None else self.device
        try:
            if self.faults.exception_code is not None:
                raise ModbusDeviceError(self.faults.exception_code)
            if device.unit_ids is not None and unit not in device.unit_ids:
                raise ModbusDeviceError(ExceptionCode.GATEWAY_TARGET_FAILED)
            if pdu[0] == 0x2B:
                # Identification is static: served by the live device even while frozen.
                objects = getattr(self.device, "device_identification", None)
                return _device_identification(objects, pdu)
            return _execute(device, pdu)
        except ModbusDeviceError as err:
            return bytes(((pdu[0] | 0x80) & 0xFF, err.code & 0xFF))
        except Exception:
            _LOGGER.exception("simulated device failed on request %s", pdu.hex())
            return bytes(((pdu[0] | 0x80) & 0xFF, ExceptionCode.SERVER_DEVICE_FAILURE))


def _garble(response: bytes, garbage: str | None) -> bytes:
    """Replace the register bytes of a read answer (FC 03/04) for the garbage fault."""
    if garbage is None or len(response) < 2 or response[0] not in (0x03, 0x04):
        return response
    size = response[1]
    data = bytes([0xFF] * size) if garbage == "na" else random.randbytes(size)
    return response[:2] + data


def _execute(device: SimDevice, pdu: bytes) -> bytes:
    """Run one request PDU against the device and return the response PDU."""
    function = pdu[0]
    if function in (0x03, 0x04):
        if len(pdu) != 5:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
        address, count = struct.unpack(">HH", pdu[1:])
        _check_range(address, count, MAX_READ_COUNT)
        values = device.read_registers(address, count)
        if len(values) != count:
            raise RuntimeError(f"device returned {len(values)} registers, {count} requested")
        return struct.pack(f">BB{count}H", function, 2 * count, *values)
    if function == 0x06:
        if len(pdu) != 5:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
        address, value = struct.unpack(">HH", pdu[1:])
        device.write_registers(address, [value])
        return pdu
    if function == 0x10:
        if len(pdu) < 6:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
        address, count, byte_count = struct.unpack(">HHB", pdu[1:6])
        if byte_count != 2 * count or len(pdu) != 6 + byte_count:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
        _check_range(address, count, MAX_WRITE_COUNT)
        device.write_registers(address, list(struct.unpack(f">{count}H", pdu[6:])))
        return struct.pack(">BHH", function, address, count)
    raise ModbusDeviceError(ExceptionCode.ILLEGAL_FUNCTION)


_MEI_DEVICE_ID = 0x0E
_MAX_PDU = 253
# Read device id codes: 1 basic (0x00..0x02), 2 regular (..0x7F), 3 extended (..0xFF),
# 4 one specific object.
_CATEGORY_LAST = {1: 0x02, 2: 0x7F, 3: 0xFF}


def _device_identification(objects: Mapping[int, str] | None, pdu: bytes) -> bytes:
    """Answer Read Device Identification (FC 43 / MEI 14) from ``objects``."""
    if objects is None:
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_FUNCTION)
    if len(pdu) != 4 or pdu[1] != _MEI_DEVICE_ID:
        raise ModbusDeviceError(
            ExceptionCode.ILLEGAL_DATA_VALUE if len(pdu) != 4 else ExceptionCode.ILLEGAL_FUNCTION
        )
    read_code, object_id = pdu[2], pdu[3]
    highest = max(objects, default=0)
    level = 1 if highest <= 0x02 else 2 if highest <= 0x7F else 3
    conformity = 0x80 | level  # stream and individual access
    if read_code == 4:
        if object_id not in objects:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        selected = [object_id]
    elif read_code in _CATEGORY_LAST and read_code <= level:
        in_category = sorted(i for i in objects if i <= _CATEGORY_LAST[read_code])
        if object_id not in in_category:  # the standard: answer as if object 0 was asked
            object_id = 0
        selected = [i for i in in_category if i >= object_id]
    else:
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
    body = b""
    count = 0
    more, next_id = 0x00, 0x00
    for oid in selected:
        data = objects[oid].encode("ascii", "replace")[: _MAX_PDU - 10]
        if 7 + len(body) + 2 + len(data) > _MAX_PDU and read_code != 4:
            more, next_id = 0xFF, oid
            break
        body += bytes((oid, len(data))) + data
        count += 1
    header = bytes((0x2B, _MEI_DEVICE_ID, read_code, conformity, more, next_id, count))
    return header + body


def _check_range(address: int, count: int, max_count: int) -> None:
    if not 1 <= count <= max_count:
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
    if address + count > 0x10000:
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset so the client sees it refused at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
