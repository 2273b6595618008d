"""Siemens SENTRON PAC2200 energy meter driver (read-only; no Home Assistant imports).

Register facts: docs/devices.md §3. PDU address = the manual's offset (V L1-N at 1);
measured values are float32 big-endian (high word first), energy counters float64
(4 registers, big-endian). NaN/inf decode to None. Sign of the active power: + import.

Reading strategy: one poll reads the two defined ranges 1–72 and 801–840 with one request
each. Some devices refuse a read across undefined registers (43–54) or across several
values with exception 02 (Illegal Data Address; 03 Illegal Data Value is treated the same).
A refused chunk is split into the next finer level and read again at once:

    whole range → contiguous defined sub-ranges (1–42, 55–72 / 801–816, 817–840)
                → single values (2 registers, or 4 for an energy counter)

Chunks always start at a value's first register and cover whole values, so the second
register of a value is never read alone. A single value the device refuses is left out
(decoded as None). The plan that worked is remembered, so later polls do not ask for the
refused block again; after ``REPROBE_INTERVAL_S`` (one hour) the plan is forgotten and the
whole range is tried once more (a firmware update may have fixed it), which costs one
refused request per range per hour on a device that still refuses it.

Device identification (function 43 / MEI 14): the basic objects give vendor (0), product
code (1) and revision (2). The standard has no serial-number object and the PAC2200 manual
lists only objects 0–2, so a real PAC2200 reports no serial here: ``serial`` is then None.
The driver additionally asks for the extended category from object 0x80 and uses private
object 0x80 as the serial when a device (or gateway, or the simulator) provides one. A device
that does not implement function 43, answers it with an exception, does not answer it at all
or drops the connection gives an identity with vendor/product/firmware/serial None; the
identification never fails because of function 43.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Final

from .modbus import (
    CannotConnect,
    InvalidResponse,
    ModbusConnection,
    ModbusExceptionResponse,
    RequestTimeout,
    WrongDevice,
    float32,
    float64,
)

_LOGGER = logging.getLogger(__name__)

REPROBE_INTERVAL_S: Final = 3600.0
"""How long a learned fallback plan is kept before the whole range is tried again."""

REFUSED_CODES: Final = frozenset({0x02, 0x03})
"""Exception codes meaning "this read is not allowed here": split the read and retry."""

DEVICE_ID_BASIC: Final = 0x01
DEVICE_ID_EXTENDED: Final = 0x03
SERIAL_OBJECT: Final = 0x80
"""Private (extended) identification object used as the serial number when present."""

FREQUENCY_RANGE: Final = (45.0, 65.0)
VOLTAGE_LN_RANGE: Final = (80.0, 300.0)
VOLTAGE_LL_RANGE: Final = (150.0, 520.0)

# Register map: field name → PDU address (= manual offset). One table per encoding.
FLOAT32_REGISTERS: Final[dict[str, int]] = {
    "voltage_l1_n": 1,
    "voltage_l2_n": 3,
    "voltage_l3_n": 5,
    "voltage_l1_l2": 7,
    "voltage_l2_l3": 9,
    "voltage_l3_l1": 11,
    "current_l1": 13,
    "current_l2": 15,
    "current_l3": 17,
    "apparent_power_l1": 19,
    "apparent_power_l2": 21,
    "apparent_power_l3": 23,
    "active_power_l1": 25,
    "active_power_l2": 27,
    "active_power_l3": 29,
    "reactive_power_l1": 31,
    "reactive_power_l2": 33,
    "reactive_power_l3": 35,
    "power_factor_l1": 37,
    "power_factor_l2": 39,
    "power_factor_l3": 41,
    # 43..54 are not defined.
    "frequency": 55,
    "voltage_avg_ln": 57,
    "voltage_avg_ll": 59,
    "current_avg": 61,
    "apparent_power_total": 63,  # the original tool called this "p_avg" (wrong)
    "active_power_total": 65,  # the original tool called this "pva_avg" (wrong)
    "reactive_power_total": 67,
    "power_factor_total": 69,
    "current_neutral": 71,
}
FLOAT64_REGISTERS: Final[dict[str, int]] = {
    "energy_import_t1": 801,
    "energy_import_t2": 805,
    "energy_export_t1": 809,
    "energy_export_t2": 813,
    "reactive_import_t1": 817,
    "reactive_import_t2": 821,
    "reactive_export_t1": 825,
    "reactive_export_t2": 829,
    "apparent_energy_t1": 833,
    "apparent_energy_t2": 837,
}

type Chunk = tuple[int, int]
"""A read request: (first address, register count)."""


@dataclass(frozen=True, slots=True)
class RegisterRange:
    """A range read with one request when the device allows it, and its finer splits."""

    name: str
    first: int
    count: int
    groups: tuple[Chunk, ...]
    """Contiguous defined sub-ranges (no undefined register inside)."""
    values: tuple[Chunk, ...]
    """Every single value."""

    @property
    def whole(self) -> Chunk:
        """The whole range as one chunk."""
        return (self.first, self.count)

    def finer(self, chunk: Chunk) -> tuple[Chunk, ...]:
        """The next finer split of ``chunk``; empty for a single value."""
        for level in (self.groups, self.values):
            pieces = tuple(p for p in level if _inside(p, chunk))
            if pieces and pieces != (chunk,):
                return pieces
        return ()


def _inside(piece: Chunk, chunk: Chunk) -> bool:
    return chunk[0] <= piece[0] and piece[0] + piece[1] <= chunk[0] + chunk[1]


MEASUREMENTS: Final = RegisterRange(
    "measurements",
    1,
    72,
    groups=((1, 42), (55, 18)),
    values=tuple((a, 2) for a in FLOAT32_REGISTERS.values()),
)
ENERGIES: Final = RegisterRange(
    "energies",
    801,
    40,
    groups=((801, 16), (817, 24)),
    values=tuple((a, 4) for a in FLOAT64_REGISTERS.values()),
)


@dataclass(frozen=True, slots=True)
class Pac2200Identity:
    """What the meter says about itself (read once)."""

    serial: str | None
    vendor: str | None
    product: str | None
    firmware: str | None
    frequency: float


@dataclass(frozen=True, slots=True)
class Pac2200Data:
    """One poll of the meter; None = not readable or NaN/inf. Active power: + import."""

    voltage_l1_n: float | None
    voltage_l2_n: float | None
    voltage_l3_n: float | None
    voltage_l1_l2: float | None
    voltage_l2_l3: float | None
    voltage_l3_l1: float | None
    current_l1: float | None
    current_l2: float | None
    current_l3: float | None
    apparent_power_l1: float | None
    apparent_power_l2: float | None
    apparent_power_l3: float | None
    active_power_l1: float | None
    active_power_l2: float | None
    active_power_l3: float | None
    reactive_power_l1: float | None
    reactive_power_l2: float | None
    reactive_power_l3: float | None
    power_factor_l1: float | None
    power_factor_l2: float | None
    power_factor_l3: float | None
    frequency: float | None
    voltage_avg_ln: float | None
    voltage_avg_ll: float | None
    current_avg: float | None
    apparent_power_total: float | None
    active_power_total: float | None
    reactive_power_total: float | None
    power_factor_total: float | None
    current_neutral: float | None
    energy_import_t1: float | None  # Wh
    energy_import_t2: float | None
    energy_export_t1: float | None
    energy_export_t2: float | None
    reactive_import_t1: float | None  # varh
    reactive_import_t2: float | None
    reactive_export_t1: float | None
    reactive_export_t2: float | None
    apparent_energy_t1: float | None  # VAh
    apparent_energy_t2: float | None

    @property
    def energy_import_total(self) -> float | None:
        """Active energy imported, tariff 1 + tariff 2 (Wh)."""
        return _sum(self.energy_import_t1, self.energy_import_t2)

    @property
    def energy_export_total(self) -> float | None:
        """Active energy exported, tariff 1 + tariff 2 (Wh)."""
        return _sum(self.energy_export_t1, self.energy_export_t2)

    @property
    def grid_import_power(self) -> float | None:
        """Power drawn from the grid, ≥ 0 (W)."""
        power = self.active_power_total
        if power is None:
            return None
        return power if power > 0 else 0.0

    @property
    def grid_export_power(self) -> float | None:
        """Power fed into the grid, ≥ 0 (W)."""
        power = self.active_power_total
        if power is None:
            return None
        return -power if power < 0 else 0.0


def _sum(first: float | None, second: float | None) -> float | None:
    if first is None or second is None:
        return None
    return first + second


if {f.name for f in fields(Pac2200Data)} != {*FLOAT32_REGISTERS, *FLOAT64_REGISTERS}:
    raise RuntimeError("Pac2200Data and the register tables disagree")  # pragma: no cover


def _value(words: Mapping[int, int], address: int, size: int) -> float | None:
    try:
        regs = [words[a] for a in range(address, address + size)]
    except KeyError:
        return None
    return float32(regs) if size == 2 else float64(regs)


# Plausible magnitudes by value name prefix (generous: CT and VT ratios included). A value
# outside is a garbled answer and reads as None instead of reaching statistics or the
# surplus controller.
_PLAUSIBLE: Final[tuple[tuple[str, float, float], ...]] = (
    ("voltage", 0.0, 1e6),
    ("current", 0.0, 1e5),
    ("power_factor", -1.001, 1.001),
    ("frequency", 0.0, 100.0),
    ("energy", 0.0, 1e15),
    ("reactive_import", 0.0, 1e15),
    ("reactive_export", 0.0, 1e15),
    ("apparent_energy", 0.0, 1e15),
    ("", -1e9, 1e9),  # powers
)


def _plausible(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    for prefix, low, high in _PLAUSIBLE:
        if name.startswith(prefix):
            return value if low <= value <= high else None
    return value  # pragma: no cover  (the last prefix matches everything)


def decode_data(words: Mapping[int, int]) -> Pac2200Data:
    """Decode registers (address → word); a value with a missing register is None, an
    implausible one (see `_PLAUSIBLE`) too."""
    values: dict[str, float | None] = {}
    for name, address in FLOAT32_REGISTERS.items():
        values[name] = _plausible(name, _value(words, address, 2))
    for name, address in FLOAT64_REGISTERS.items():
        values[name] = _plausible(name, _value(words, address, 4))
    return Pac2200Data(**values)


def decode_identity(words: Mapping[int, int], objects: Mapping[int, str] | None) -> Pac2200Identity:
    """Check the measurements look like a PAC2200 (else WrongDevice) and build the identity."""
    data = decode_data(words)
    frequency = data.frequency
    low, high = FREQUENCY_RANGE
    if frequency is None or not low <= frequency <= high:
        raise WrongDevice(f"frequency {frequency} Hz outside {low:g}–{high:g} Hz")
    if not (
        _any_within((data.voltage_l1_n, data.voltage_l2_n, data.voltage_l3_n), VOLTAGE_LN_RANGE)
        or _any_within(
            (data.voltage_l1_l2, data.voltage_l2_l3, data.voltage_l3_l1), VOLTAGE_LL_RANGE
        )
    ):
        raise WrongDevice("no plausible phase voltage at registers 1–12")
    objects = objects or {}
    return Pac2200Identity(
        serial=objects.get(SERIAL_OBJECT) or None,
        vendor=objects.get(0) or None,
        product=objects.get(1) or None,
        firmware=objects.get(2) or None,
        frequency=frequency,
    )


def _any_within(values: Sequence[float | None], bounds: tuple[float, float]) -> bool:
    low, high = bounds
    return any(v is not None and low <= v <= high for v in values)


class _RangeReader:
    """Reads one `RegisterRange`, learning which chunks the device accepts."""

    def __init__(self, spec: RegisterRange, clock: Callable[[], float]) -> None:
        self.spec = spec
        self._clock = clock
        self.plan: tuple[Chunk, ...] = (spec.whole,)
        self.unsupported: tuple[Chunk, ...] = ()
        self._learned_at: float | None = None
        self._announced = False

    @property
    def degraded(self) -> bool:
        """True while a fallback plan is in use."""
        return self.plan != (self.spec.whole,)

    async def read(self, connection: ModbusConnection) -> dict[int, int]:
        """Read the range with the learned plan; refused chunks are split and retried."""
        now = self._clock()
        if self._learned_at is not None and now - self._learned_at >= REPROBE_INTERVAL_S:
            _LOGGER.debug("%s: trying the whole range again", self.spec.name)
            self.plan, self.unsupported, self._learned_at = (self.spec.whole,), (), None
        queue = list(self.plan)
        plan: list[Chunk] = []
        unsupported: list[Chunk] = list(self.unsupported)
        words: dict[int, int] = {}
        refusal: ModbusExceptionResponse | None = None
        while queue:
            chunk = queue.pop(0)
            try:
                regs = await connection.read_holding_registers(*chunk)
            except ModbusExceptionResponse as err:
                if err.code not in REFUSED_CODES:
                    raise
                refusal = refusal or err  # report the first (widest) refusal
                pieces = self.spec.finer(chunk)
                _LOGGER.debug(
                    "%s: %d register(s) at %d refused (exception %d), %s",
                    self.spec.name,
                    chunk[1],
                    chunk[0],
                    err.code,
                    f"splitting into {len(pieces)} reads" if pieces else "value left out",
                )
                if pieces:
                    queue[0:0] = pieces
                else:
                    unsupported.append(chunk)
                continue
            plan.append(chunk)
            words.update(zip(range(chunk[0], chunk[0] + chunk[1]), regs, strict=True))
        if not plan:
            # Nothing readable at all: forget what was learned and report the refusal.
            self.plan, self.unsupported, self._learned_at = (self.spec.whole,), (), None
            assert refusal is not None
            raise refusal
        new_plan = tuple(sorted(plan))
        if new_plan != self.plan or tuple(unsupported) != self.unsupported:
            if new_plan != (self.spec.whole,):
                _LOGGER.log(
                    logging.DEBUG if self._announced else logging.INFO,
                    "%s: device refuses block reads, using %d request(s) per poll",
                    self.spec.name,
                    len(new_plan),
                )
                self._announced = True
            self.plan, self.unsupported = new_plan, tuple(sorted(unsupported))
        if self.degraded and self._learned_at is None:
            self._learned_at = now
        return words


class Pac2200Client:
    """Reads a SENTRON PAC2200 over one :class:`ModbusConnection`."""

    def __init__(
        self, connection: ModbusConnection, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Use ``connection`` for every request; ``clock`` times the re-probe of refused reads."""
        self.connection = connection
        self._measurements = _RangeReader(MEASUREMENTS, clock)
        self._energies = _RangeReader(ENERGIES, clock)

    @property
    def read_plan(self) -> dict[str, tuple[Chunk, ...]]:
        """The chunks each range is currently read with (diagnostics)."""
        return {r.spec.name: r.plan for r in (self._measurements, self._energies)}

    async def identify(self) -> Pac2200Identity:
        """Check frequency and voltages (WrongDevice if implausible), then function 43.

        A Modbus exception response to the measurement read (the range is not there at
        all) propagates as ModbusExceptionResponse: not a PAC2200 either.
        """
        words = await self._measurements.read(self.connection)
        decode_identity(words, None)  # reject before asking anything else
        objects = await self._identification()
        return decode_identity(words, objects)

    async def _identification(self) -> dict[int, str] | None:
        objects = await self._device_identification(DEVICE_ID_BASIC, 0x00)
        if objects is None:
            return None
        extended = await self._device_identification(DEVICE_ID_EXTENDED, SERIAL_OBJECT)
        if extended and SERIAL_OBJECT in extended:
            objects[SERIAL_OBJECT] = extended[SERIAL_OBJECT]
        return objects

    async def _device_identification(self, read_code: int, object_id: int) -> dict[int, str] | None:
        """Function 43 / MEI 14; any failure means "not supported" (never an error)."""
        try:
            return await self.connection.read_device_identification(read_code, object_id)
        except (RequestTimeout, CannotConnect, InvalidResponse) as err:
            _LOGGER.debug("device identification (read code %d) failed: %s", read_code, err)
            return None

    async def read(self) -> Pac2200Data:
        """Read measurements and energy counters (two requests unless the device refuses)."""
        with self.connection.measure_poll():
            words = await self._measurements.read(self.connection)
            words.update(await self._energies.read(self.connection))
            return decode_data(words)
