"""Mennekes AMTRON (Mennekes "ECU", Bender CC612/613) Modbus TCP driver; no Home Assistant.

Register facts: docs/devices.md §2. FC03 reads, FC06 writes, no address offset,
32-bit values high word first, 0xFFFF / 0xFFFFFFFF mean "not available" (also transiently).
The charger may accept a single TCP connection: the client uses the one
:class:`ModbusConnection` it is given for every read and write.

Register groups
---------------
`identify()` reads four blocks and, when a block answers with a Modbus exception, probes
its groups one by one. Groups that still answer with an exception are recorded in
`AmtronIdentity.unsupported` and never read again (no errors every poll):

========== ========= ===================================================== ==========
group      registers content                                               optional
========== ========= ===================================================== ==========
status     100–141   firmware, OCPP status, errors, vehicle state,         required
                     availability, safe current, comm timeout, operator limit
model      142–152   model string, plug lock (FW ≥ 5.22)                   yes
meter      200–217   meter energy, power and current per phase             yes
totals     218–221   lifetime energy, total power (FW ≥ 5.22)              yes
voltages   222–227   voltage per phase (FW ≥ 5.22)                         yes
session    705–715   16-bit session values, signalled current, start time, yes
                     min current, EV max current
session32  716–719   32-bit session energy and duration (FW ≥ 5.22)        yes
rfid       720–729   RFID / OCPP id tag of the session                     yes
evccid     730–746   EVCCID (ISO 15118) at 741–746                         yes
hems       1000      HEMS current limit                                    yes
========== ========= ===================================================== ==========

Read plan (`read()`, at most 4 requests): the supported groups of each block are merged
into contiguous spans. On firmware ≥ 5.22 that is exactly 100–152, 200–227, 705–746 and
1000. When more than four spans remain (firmware 5.12: 100–141, 200–217, 705–715, 1000,
720–729) the first three are read every poll and the rest share the fourth request in
turn, least recently read first (the RFID tag on a tie); the RFID span is skipped (tag
None) while no car is connected. A value of a span not read in this poll is the one read
last (the HEMS limit is also updated by every successful write).

Fallbacks: total power = sum of the phase powers without 220–221; lifetime energy = meter
energy 200–201 without 218–219; session energy / duration = 705 / 709 (16-bit, 0xFFFF
once saturated → None) without 716–719.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time as dt_time
from enum import IntEnum
from typing import Final

from .modbus import (
    U16_NA,
    U32_NA,
    ModbusConnection,
    ModbusError,
    ModbusExceptionResponse,
    WordOrder,
    WrongDevice,
    ascii_string,
    u16,
    u32,
)

DEFAULT_PORT: Final = 502
DEFAULT_UNIT_ID: Final = 255

MAX_REQUESTS_PER_POLL: Final = 4
E_DEBOUNCE_S: Final = 10.0
"""Vehicle state E is reported only after it persisted for more than this."""
ACTIVE_PHASE_A: Final = 0.5
"""A phase counts as active above this current (idle phases show 4–10 mA)."""

# Registers (docs/devices.md §2).
REG_FIRMWARE: Final = 100
REG_STATUS: Final = 104
REG_ERRORS: Final = 111
REG_PROTOCOL: Final = 120
REG_VEHICLE_STATE: Final = 122
REG_AVAILABILITY: Final = 124
REG_SAFE_CURRENT: Final = 131
REG_COMM_TIMEOUT: Final = 132
REG_OPERATOR_LIMIT: Final = 134
REG_MODEL: Final = 142
REG_PLUG_LOCK: Final = 152
REG_METER_ENERGY: Final = 200
REG_POWER_L1: Final = 206
REG_CURRENT_L1: Final = 212
REG_TOTAL_ENERGY: Final = 218
REG_TOTAL_POWER: Final = 220
REG_VOLTAGE_L1: Final = 222
REG_SESSION_ENERGY_16: Final = 705
REG_SIGNALLED_CURRENT: Final = 706
REG_SESSION_START: Final = 707
REG_SESSION_DURATION_16: Final = 709
REG_MIN_CURRENT: Final = 712
REG_EV_MAX_CURRENT: Final = 715
REG_SESSION_ENERGY: Final = 716
REG_SESSION_DURATION: Final = 718
REG_RFID: Final = 720
REG_EVCCID: Final = 741
REG_HEMS_LIMIT: Final = 1000

WRITABLE_REGISTERS: Final = frozenset({REG_SAFE_CURRENT, REG_COMM_TIMEOUT, REG_HEMS_LIMIT})
"""The only registers this driver ever writes."""

HEMS_MAX_A: Final = 32
DEFAULT_MIN_CURRENT_A: Final = 6
COMM_TIMEOUT_RANGE: Final = (1, 0xFFFE)
"""Accepted COMM_TIMEOUT in seconds. The spec gives no range; 0 is refused because its
meaning (fallback disabled, or immediate) is undocumented and either defeats the fail-safe,
0xFFFF because it would read back as "not available"."""

_HIGH: Final = WordOrder.HIGH_FIRST


class ChargePointStatus(IntEnum):
    """OCPP charge point status (register 104)."""

    AVAILABLE = 0
    OCCUPIED = 1
    RESERVED = 2
    UNAVAILABLE = 3
    FAULTED = 4
    PREPARING = 5
    CHARGING = 6
    SUSPENDED_EVSE = 7
    SUSPENDED_EV = 8
    FINISHING = 9


class VehicleState(IntEnum):
    """IEC 61851 vehicle (control pilot) state (register 122)."""

    A = 1
    B = 2
    C = 3
    D = 4
    E = 5


ERROR_NAMES: Final[tuple[str, ...]] = (
    "rcmb_triggered",
    "vehicle_state_e",
    "mode3_diode_check",
    "mcb_type2",
    "mcb_schuko",
    "rcd_triggered",
    "contactor_weld",
    "backend_disconnected",
    "actuator_locking_failed",
    "locking_without_plug",
    "actuator_stuck",
    "actuator_detection_failed",
    "fw_update_running",
    "tilt",
    "wrong_cp_pr_wiring",
    "type2_overload",
    "actuator_unlocked_while_charging",
    "tilt_no_charging_until_reboot",
    "pic24",
    "usb_stick_handling",
    "incorrect_phase_rotation",
    "no_power",
)
"""Name of error bit 0, 1, … (registers 111–112 after the spec's word/byte swap)."""

_ERROR_BIT_VEHICLE_STATE_E: Final = 1


# --------------------------------------------------------------------------------------
# Errors


class InvalidSetting(ModbusError, ValueError):
    """A value the driver refuses to write; nothing was sent to the charger."""

    def __init__(self, what: str, value: object, minimum: int, maximum: int, allowed: str) -> None:
        """Keep the refused value and the allowed range."""
        super().__init__(f"{what} {value!r} not allowed: {allowed}")
        self.value = value
        self.minimum = minimum
        self.maximum = maximum
        self.allowed = allowed


class InvalidCurrent(InvalidSetting):
    """A current outside 0 or `minimum`..`maximum` A."""

    def __init__(self, value: object, minimum: int, maximum: int) -> None:
        """Describe the allowed values: 0 (pause) or minimum..maximum."""
        allowed = f"0 or {minimum}..{maximum} A" if minimum <= maximum else "0 A only"
        super().__init__("current", value, minimum, maximum, allowed)


class InvalidTimeout(InvalidSetting):
    """A communication timeout outside `minimum`..`maximum` seconds."""

    def __init__(self, value: object, minimum: int, maximum: int) -> None:
        """Describe the allowed range."""
        super().__init__("timeout", value, minimum, maximum, f"{minimum}..{maximum} s")


class ForbiddenRegister(ModbusError):
    """The driver refuses to write this register (only 131, 132 and 1000 are allowed)."""

    def __init__(self, address: int) -> None:
        """Keep the refused address."""
        super().__init__(f"writing register {address} is not allowed")
        self.address = address


class WriteVerifyError(ModbusError):
    """The register read back after a write does not hold the value written."""

    def __init__(self, address: int, requested: int, actual: int) -> None:
        """Keep what was written and what was read back."""
        super().__init__(f"register {address}: wrote {requested}, read back {actual}")
        self.address = address
        self.requested = requested
        self.actual = actual


# --------------------------------------------------------------------------------------
# Register groups and the read plan


@dataclass(frozen=True, slots=True)
class RegisterGroup:
    """A contiguous register range that is supported or not as a whole."""

    name: str
    start: int
    count: int

    @property
    def end(self) -> int:
        """One past the last register."""
        return self.start + self.count


GROUP_STATUS: Final = RegisterGroup("status", 100, 42)
GROUP_MODEL: Final = RegisterGroup("model", 142, 11)
GROUP_METER: Final = RegisterGroup("meter", 200, 18)
GROUP_TOTALS: Final = RegisterGroup("totals", 218, 4)
GROUP_VOLTAGES: Final = RegisterGroup("voltages", 222, 6)
GROUP_SESSION: Final = RegisterGroup("session", 705, 11)
GROUP_SESSION32: Final = RegisterGroup("session32", 716, 4)
GROUP_RFID: Final = RegisterGroup("rfid", 720, 10)
GROUP_EVCCID: Final = RegisterGroup("evccid", 730, 17)
GROUP_HEMS: Final = RegisterGroup("hems", 1000, 1)

BLOCKS: Final[tuple[tuple[RegisterGroup, ...], ...]] = (
    (GROUP_STATUS, GROUP_MODEL),
    (GROUP_METER, GROUP_TOTALS, GROUP_VOLTAGES),
    (GROUP_SESSION, GROUP_SESSION32, GROUP_RFID, GROUP_EVCCID),
    (GROUP_HEMS,),
)
"""Each block is read with one request when all its groups are supported."""

OPTIONAL_GROUPS: Final = frozenset(
    g.name for block in BLOCKS for g in block if g is not GROUP_STATUS
)
_PRIORITY: Final = ("status", "meter", "session", "hems")
"""Spans starting with these groups are read every poll, in this order, before the rest."""


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """One read request of the plan: consecutive supported groups."""

    start: int
    count: int
    groups: tuple[str, ...]


def build_plan(unsupported: frozenset[str]) -> tuple[ReadSpan, ...]:
    """Merge the supported groups of each block into spans, most important first."""
    spans: list[ReadSpan] = []
    for block in BLOCKS:
        run: list[RegisterGroup] = []
        for group in (*block, None):
            if group is not None and group.name not in unsupported:
                run.append(group)
                continue
            if run:
                spans.append(
                    ReadSpan(run[0].start, run[-1].end - run[0].start, tuple(g.name for g in run))
                )
                run = []

    def rank(span: ReadSpan) -> int:
        first = span.groups[0]
        return _PRIORITY.index(first) if first in _PRIORITY else len(_PRIORITY)

    return tuple(sorted(spans, key=rank))


# --------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class AmtronIdentity:
    """What the charger says about itself (read once by `identify()`)."""

    firmware: str
    protocol_version: str
    model: str | None
    """None when 142–151 are unsupported (firmware < 5.22)."""
    firmware_at_least_5_22: bool
    unsupported: frozenset[str] = frozenset()
    """Names of the register groups that answered with an exception (module docstring)."""


@dataclass(frozen=True, slots=True)
class AmtronData:
    """One poll of the charger. None = not available (n/a marker, unsupported, unknown)."""

    status: ChargePointStatus | None
    vehicle_state: VehicleState | None
    """Debounced: E only after it persisted for more than 10 s, before that the last
    state that was not E."""
    available: bool | None
    error_bits: int
    """Raw 32-bit error value after the spec's word/byte swap (0 when not available)."""
    errors: tuple[str, ...]
    """Names of the set bits 0..21 (`ERROR_NAMES`). Bit 1 (vehicle state E) is hidden, in
    both fields, while a state E is still being debounced."""
    power: int | None
    power_l1: int | None
    power_l2: int | None
    power_l3: int | None
    current_l1: float | None
    current_l2: float | None
    current_l3: float | None
    voltage_l1: int | None
    voltage_l2: int | None
    voltage_l3: int | None
    energy_total: int | None
    """Lifetime energy in Wh (218–219; 200–201 on firmware < 5.22)."""
    signalled_current: int | None
    hems_limit: int | None
    min_current: int | None
    ev_max_current: int | None
    """Max current of the EV/cable (715); 0 (no car or cable) → None."""
    operator_limit: int | None
    session_energy: int | None
    """Wh (716–717; 705 when unsupported)."""
    session_duration: int | None
    """Seconds (718–719; 709 when unsupported)."""
    session_start: dt_time | None
    """707–708 (see `decode_bcd_time`); None without a session (0 and duration 0)."""
    rfid_tag: str | None
    evccid: str | None
    safe_current: int | None
    comm_timeout: int | None
    plug_locked: bool | None
    active_phases: int
    """Phases with a current above 0.5 A."""

    @property
    def car_connected(self) -> bool:
        """Return True in vehicle state B, C or D."""
        return self.vehicle_state in (VehicleState.B, VehicleState.C, VehicleState.D)

    @property
    def charging(self) -> bool:
        """Return True in vehicle state C or D, or while the OCPP status is Charging."""
        return (
            self.vehicle_state in (VehicleState.C, VehicleState.D)
            or self.status is ChargePointStatus.CHARGING
        )


# --------------------------------------------------------------------------------------
# Pure decoding


class Registers:
    """Sparse register view (address → raw word); missing addresses decode to None."""

    def __init__(self, words: Mapping[int, int]) -> None:
        """Wrap ``words``."""
        self._words = words

    def has(self, address: int, count: int = 1) -> bool:
        """Return True when every register of the range is present."""
        return all(a in self._words for a in range(address, address + count))

    def raw(self, address: int) -> int | None:
        """The raw word, or None when the register was not read."""
        value = self._words.get(address)
        return None if value is None else value & 0xFFFF

    def u16(self, address: int) -> int | None:
        """Unsigned 16-bit value; 0xFFFF or missing → None."""
        words = self.words(address, 1)
        return None if words is None else u16(words, na=U16_NA)

    def u32(self, address: int) -> int | None:
        """Unsigned 32-bit value, high word first; 0xFFFFFFFF or missing → None."""
        words = self.words(address, 2)
        return None if words is None else u32(words, word_order=_HIGH, na=U32_NA)

    def words(self, address: int, count: int) -> list[int] | None:
        """The raw words of a range, or None when one is missing."""
        if not self.has(address, count):
            return None
        return [self._words[a] & 0xFFFF for a in range(address, address + count)]


def decode_ascii(words: list[int] | None) -> str | None:
    """Text of an ASCII register range; spaces and NULs stripped; empty → None."""
    if words is None:
        return None
    return ascii_string(words) or None


def decode_error_bits(reg111: int, reg112: int) -> int:
    """Error value of registers 111–112 in the spec's order.

    Swap the two words, then the bytes in each word: the four bytes 111-high, 111-low,
    112-high, 112-low are the value little-endian. ``0x4100, 0x0000`` → 0x00000041.
    Both registers 0xFFFF (not available) → 0.
    """
    if reg111 & 0xFFFF == U16_NA and reg112 & 0xFFFF == U16_NA:
        return 0
    return int.from_bytes(struct.pack(">HH", reg111 & 0xFFFF, reg112 & 0xFFFF), "little")


def error_names(bits: int) -> tuple[str, ...]:
    """Names of the set bits that `ERROR_NAMES` defines."""
    return tuple(name for i, name in enumerate(ERROR_NAMES) if bits >> i & 1)


def decode_bcd_time(value: int | None) -> dt_time | None:
    """Session start from 707–708: a 32-bit value (high word first) 0x00HHMMSS in BCD.

    707 holds the hours (0x00HH), 708 minutes and seconds (0xMMSS): 14:35:07 reads as
    ``0x0014, 0x3507``. Invalid BCD or out-of-range fields → None.
    """
    if value is None or value > 0x00FFFFFF:
        return None
    digits = [(value >> shift) & 0xF for shift in range(20, -1, -4)]
    if any(d > 9 for d in digits):
        return None
    hours, minutes, seconds = (digits[i] * 10 + digits[i + 1] for i in (0, 2, 4))
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return dt_time(hours, minutes, seconds)


def _enum[E: IntEnum](kind: type[E], value: int | None) -> E | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def decode_availability(value: int | None, *, firmware_at_least_5_22: bool) -> bool | None:
    """Register 124: 1 available on firmware ≥ 5.22, inverted (0 available) before."""
    if value not in (0, 1):
        return None
    return (value == 1) if firmware_at_least_5_22 else (value == 0)


def parse_firmware(text: str) -> tuple[int, int] | None:
    """``"5.22"`` → (5, 22); None when it does not look like a version."""
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


# Current registers above this are garbled answers, never real limits (None instead).
MAX_PLAUSIBLE_CURRENT_A: Final = 80


def _amps(value: int | None) -> int | None:
    return value if value is not None and value <= MAX_PLAUSIBLE_CURRENT_A else None


def decode_data(regs: Registers, identity: AmtronIdentity) -> AmtronData:
    """Decode one poll (no debouncing: the vehicle state is the raw one)."""
    r16, r32 = regs.u16, regs.u32
    reg111, reg112 = regs.raw(REG_ERRORS), regs.raw(REG_ERRORS + 1)
    error_bits = 0 if reg111 is None or reg112 is None else decode_error_bits(reg111, reg112)
    phase_power = tuple(r32(REG_POWER_L1 + 2 * i) for i in range(3))
    phase_ma = tuple(r32(REG_CURRENT_L1 + 2 * i) for i in range(3))
    currents = tuple(None if ma is None else ma / 1000.0 for ma in phase_ma)
    voltages = tuple(r32(REG_VOLTAGE_L1 + 2 * i) for i in range(3))

    if "totals" in identity.unsupported:
        known = [p for p in phase_power if p is not None]
        power = sum(known) if len(known) == 3 else None
        energy = r32(REG_METER_ENERGY)
    else:
        power = r32(REG_TOTAL_POWER)
        energy = r32(REG_TOTAL_ENERGY)

    if "session32" in identity.unsupported:
        session_energy = r16(REG_SESSION_ENERGY_16)
        duration = r16(REG_SESSION_DURATION_16)
    else:
        session_energy = r32(REG_SESSION_ENERGY)
        duration = r32(REG_SESSION_DURATION)
    start_raw = r32(REG_SESSION_START)
    start = None if start_raw == 0 and not duration else decode_bcd_time(start_raw)

    ev_max = r16(REG_EV_MAX_CURRENT)
    evccid = decode_ascii(regs.words(REG_EVCCID, 6))
    if evccid is not None and set(evccid) <= {"0"}:
        evccid = None
    lock = r16(REG_PLUG_LOCK)

    return AmtronData(
        status=_enum(ChargePointStatus, r16(REG_STATUS)),
        vehicle_state=_enum(VehicleState, r16(REG_VEHICLE_STATE)),
        available=decode_availability(
            r16(REG_AVAILABILITY), firmware_at_least_5_22=identity.firmware_at_least_5_22
        ),
        error_bits=error_bits,
        errors=error_names(error_bits),
        power=power,
        power_l1=phase_power[0],
        power_l2=phase_power[1],
        power_l3=phase_power[2],
        current_l1=currents[0],
        current_l2=currents[1],
        current_l3=currents[2],
        voltage_l1=voltages[0],
        voltage_l2=voltages[1],
        voltage_l3=voltages[2],
        energy_total=energy,
        signalled_current=r16(REG_SIGNALLED_CURRENT),
        hems_limit=_amps(r16(REG_HEMS_LIMIT)),
        min_current=_amps(r16(REG_MIN_CURRENT)) or None,
        ev_max_current=_amps(ev_max) or None,
        operator_limit=_amps(r16(REG_OPERATOR_LIMIT)),
        session_energy=session_energy,
        session_duration=duration,
        session_start=start,
        rfid_tag=decode_ascii(regs.words(REG_RFID, 10)),
        evccid=evccid,
        safe_current=r16(REG_SAFE_CURRENT),
        comm_timeout=r16(REG_COMM_TIMEOUT),
        plug_locked=None if lock is None else lock == 1,
        active_phases=sum(1 for c in currents if c is not None and c > ACTIVE_PHASE_A),
    )


def decode_identity(regs: Registers, unsupported: frozenset[str]) -> AmtronIdentity:
    """Firmware (100–101), protocol version (120–121), model (142–151).

    Raise `WrongDevice` when the firmware registers do not hold a version like "5.22".
    """
    firmware = ascii_string(regs.words(REG_FIRMWARE, 2) or [])
    version = parse_firmware(firmware)
    if version is None:
        raise WrongDevice(f"registers 100–101 hold {firmware!r}, not an ECU firmware version")
    return AmtronIdentity(
        firmware=firmware,
        protocol_version=ascii_string(regs.words(REG_PROTOCOL, 2) or []),
        model=decode_ascii(regs.words(REG_MODEL, 10)),
        firmware_at_least_5_22=version >= (5, 22),
        unsupported=unsupported,
    )


# --------------------------------------------------------------------------------------
# Client


@dataclass
class _Debounce:
    """Vehicle state E debouncing."""

    last_not_e: VehicleState | None = None
    e_since: float | None = None


@dataclass
class _SpanCache:
    words: dict[int, int] = field(default_factory=dict)
    last_read: dict[int, int] = field(default_factory=dict)
    """Span start → poll number of its last read."""


class AmtronClient:
    """Reads and controls an AMTRON over one :class:`ModbusConnection`."""

    def __init__(
        self,
        connection: ModbusConnection,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Use ``connection`` for every request; ``clock`` times the state E debounce."""
        self.connection = connection
        self._clock = clock
        self.identity: AmtronIdentity | None = None
        self.plan: tuple[ReadSpan, ...] = ()
        self._min_current = DEFAULT_MIN_CURRENT_A
        self._debounce = _Debounce()
        self._cache = _SpanCache()
        self._polls = 0

    @property
    def min_current(self) -> int:
        """Device minimum current (712) as last read; 6 A until known."""
        return self._min_current

    async def identify(self) -> AmtronIdentity:
        """Read firmware, protocol version and model; find the unsupported groups.

        Raises `WrongDevice` when registers 100–101 hold no firmware version, and any
        transport error; exception answers of optional groups are recorded, not raised.
        """
        words: dict[int, int] = {}
        unsupported: set[str] = set()
        for block in BLOCKS:
            start, end = block[0].start, block[-1].end
            try:
                block_words = await self._read(start, end - start)
                words.update(zip(range(start, end), block_words, strict=True))
                continue
            except ModbusExceptionResponse:
                if len(block) == 1:
                    if block[0].name not in OPTIONAL_GROUPS:
                        raise
                    unsupported.add(block[0].name)
                    continue
            # The block was refused: find out which of its groups are.
            for group in block:
                try:
                    regs = await self._read(group.start, group.count)
                except ModbusExceptionResponse:
                    if group.name not in OPTIONAL_GROUPS:
                        raise
                    unsupported.add(group.name)
                    continue
                words.update(zip(range(group.start, group.end), regs, strict=True))
        registers = Registers(words)
        identity = decode_identity(registers, frozenset(unsupported))
        self.identity = identity
        self.plan = build_plan(identity.unsupported)
        self._cache = _SpanCache(words=dict(words))
        self._remember_min_current(registers)
        return identity

    async def read(self) -> AmtronData:
        """One poll: at most 4 requests (see the module docstring); identifies first if
        `identify()` was not called yet."""
        if self.identity is None:
            await self.identify()
        identity = self.identity
        assert identity is not None
        with self.connection.measure_poll():
            self._polls += 1
            cache = self._cache
            fixed = self.plan if len(self.plan) <= MAX_REQUESTS_PER_POLL else self.plan[:3]
            rotating = self.plan[len(fixed) :]
            for span in fixed:
                await self._read_span(span)
            if rotating:
                car_absent = cache.words.get(REG_VEHICLE_STATE) == VehicleState.A
                candidates = [s for s in rotating if not (car_absent and "rfid" in s.groups)]
                for span in rotating:
                    if car_absent and "rfid" in span.groups:
                        for address in range(span.start, span.start + span.count):
                            cache.words.pop(address, None)
                if candidates:
                    # Least recently read first; on a tie the RFID tag (it changes with
                    # every session, 1000 only through our own writes, which update it).
                    span = min(
                        candidates,
                        key=lambda s: (cache.last_read.get(s.start, -1), "rfid" not in s.groups),
                    )
                    await self._read_span(span)
            registers = Registers(cache.words)
            self._remember_min_current(registers)
            return self._debounced(decode_data(registers, identity))

    async def set_current_limit(self, amps: int, *, max_current: int | None = None) -> int:
        """Write the HEMS current limit (1000) and return the value read back.

        Accepts 0 (pause) or the device minimum (712, default 6) up to ``max_current``
        (capped at 32; default 32). Anything else raises `InvalidCurrent` before any
        request; a read-back mismatch raises `WriteVerifyError`.
        """
        maximum = HEMS_MAX_A if max_current is None else min(max_current, HEMS_MAX_A)
        minimum = self._min_current
        if not _valid_current(amps, minimum, maximum):
            raise InvalidCurrent(amps, minimum, maximum)
        return await self._write_verified(REG_HEMS_LIMIT, amps)

    async def set_fallback(self, safe_current: int, timeout_s: int) -> tuple[int, int]:
        """Write SAFE_CURRENT (131) and COMM_TIMEOUT (132); return both as read back.

        ``safe_current``: 0 or the device minimum (default 6) .. 32 A. ``timeout_s``:
        1..65534 s (see `COMM_TIMEOUT_RANGE`). Both are checked before anything is
        written; a read-back mismatch raises `WriteVerifyError`.
        """
        minimum = self._min_current
        if not _valid_current(safe_current, minimum, HEMS_MAX_A):
            raise InvalidCurrent(safe_current, minimum, HEMS_MAX_A)
        low, high = COMM_TIMEOUT_RANGE
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int):
            raise InvalidTimeout(timeout_s, low, high)
        if not low <= timeout_s <= high:
            raise InvalidTimeout(timeout_s, low, high)
        current = await self._write_verified(REG_SAFE_CURRENT, safe_current)
        timeout = await self._write_verified(REG_COMM_TIMEOUT, timeout_s)
        return current, timeout

    # Internals ------------------------------------------------------------------------

    async def _write_verified(self, address: int, value: int) -> int:
        """The only write path: allow-listed register, FC06, then read back and compare."""
        if address not in WRITABLE_REGISTERS:
            raise ForbiddenRegister(address)
        await self.connection.write_register(address, value)
        (actual,) = await self._read(address, 1)
        self._cache.words[address] = actual  # the newest value, also for the next poll
        if actual != value:
            raise WriteVerifyError(address, value, actual)
        return actual

    async def _read(self, address: int, count: int) -> list[int]:
        return await self.connection.read_holding_registers(address, count)

    async def _read_span(self, span: ReadSpan) -> None:
        words = await self._read(span.start, span.count)
        addresses = range(span.start, span.start + span.count)
        self._cache.words.update(zip(addresses, words, strict=True))
        self._cache.last_read[span.start] = self._polls

    def _remember_min_current(self, registers: Registers) -> None:
        value = registers.u16(REG_MIN_CURRENT)
        if value is not None and 1 <= value <= HEMS_MAX_A:
            self._min_current = value

    def _debounced(self, data: AmtronData) -> AmtronData:
        state = data.vehicle_state
        debounce = self._debounce
        if state is None:  # not available this poll: keep the debounce as it is
            return data
        if state is not VehicleState.E:
            debounce.e_since = None
            debounce.last_not_e = state
            return data
        now = self._clock()
        if debounce.e_since is None:
            debounce.e_since = now
        if now - debounce.e_since > E_DEBOUNCE_S:
            return data
        # E not yet confirmed: report the last other state, and hide the matching error bit.
        bits = data.error_bits & ~(1 << _ERROR_BIT_VEHICLE_STATE_E)
        return replace(
            data,
            vehicle_state=debounce.last_not_e,
            error_bits=bits,
            errors=error_names(bits),
        )


def _valid_current(amps: object, minimum: int, maximum: int) -> bool:
    if isinstance(amps, bool) or not isinstance(amps, int):
        return False
    return amps == 0 or minimum <= amps <= maximum
