"""Doepke DCTR B-X Hz residual current monitor driver (read-only; no Home Assistant imports).

No public Doepke register documentation exists; the map below is the one the original tool
used (docs/devices.md §4) and is kept in this one table so it can be corrected when
a manual turns up. Modbus must first be enabled with Doepke's own software. Everything is
read with one FC03 request of 36 registers from address 0. Currents and thresholds are u16,
unit assumed mA.

| Addr   | Meaning                                              |
|--------|------------------------------------------------------|
| 0      | validity (u16, meaning unknown)                      |
| 1..8   | residual current per band, `BANDS` order             |
| 9      | alarm A raised (bitfield)                            |
| 10     | alarm B raised (bitfield)                            |
| 11..15 | unknown (read, ignored)                              |
| 16..23 | alarm A thresholds, `BANDS` order                    |
| 24     | alarm A enabled bands (bitfield)                     |
| 25..32 | alarm B thresholds, `BANDS` order                    |
| 33     | alarm B enabled bands (bitfield)                     |
| 34     | alarm delay (unit unknown)                           |
| 35     | unknown (read, ignored)                              |

Bitfields: bit i ↔ ``BANDS[7 - i]`` (bit 0 AC > 10 kHz … bit 7 DC); bits 8–15 unused;
any set bit = alarm.

Identification (a plausible register image, since nothing else identifies the device):
- validity: its meaning is unknown. The original tool only logged it. Accepted: any value
  with bits 8–15 clear (0 and 1, and a per-band bitfield if that is what it is); 0xFFFF
  and everything above 0xFF are rejected.
- thresholds: not all 16 zero, and none 0xFFFF (an empty or foreign register image).
- alarm and enabled bitfields (9, 10, 24, 33): only bits 0–7 set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# The band names live in a stdlib-only module: the log format (logformat.py) uses them too.
from .dctr_bands import BANDS as BANDS  # noqa: PLC0414  (re-exported: part of the map)
from .modbus import InvalidResponse, ModbusConnection, WrongDevice

FIRST_REGISTER: Final = 0
REGISTER_COUNT: Final = 36

VALIDITY: Final = 0
CURRENTS: Final = 1
ALARM_A: Final = 9
ALARM_B: Final = 10
THRESHOLDS_A: Final = 16
ENABLED_A: Final = 24
THRESHOLDS_B: Final = 25
ENABLED_B: Final = 33
ALARM_DELAY: Final = 34

BAND_BITS: Final = 0x00FF
"""Bits of a bitfield that carry a band."""


def band_index(band: str) -> int:
    """Position of ``band`` in `BANDS` (ValueError for an unknown band)."""
    try:
        return BANDS.index(band)
    except ValueError:
        raise ValueError(f"unknown band {band!r}; known: {', '.join(BANDS)}") from None


def band_bit(band: str) -> int:
    """The bitfield mask of ``band`` (ValueError for an unknown band)."""
    return 1 << (len(BANDS) - 1 - band_index(band))


def bands_of(bitfield: int) -> tuple[str, ...]:
    """Names of the bands whose bit is set, in `BANDS` order (bits 8–15 ignored)."""
    return tuple(band for band in BANDS if bitfield & band_bit(band))


@dataclass(frozen=True, slots=True)
class DctrIdentity:
    """What the register image says about the device (read once)."""

    validity: int
    thresholds_a: tuple[int, ...]
    thresholds_b: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DctrData:
    """One poll of the residual current monitor (currents and thresholds in mA, assumed)."""

    validity: int
    residual_current: tuple[int, ...]
    """Eight values in `BANDS` order."""
    alarm_a_raw: int
    alarm_b_raw: int
    thresholds_a: tuple[int, ...]
    thresholds_b: tuple[int, ...]
    enabled_a_raw: int
    enabled_b_raw: int
    alarm_delay: int

    @property
    def alarm_a(self) -> bool:
        """Return True while any band is in alarm A."""
        return bool(self.alarm_a_raw & BAND_BITS)

    @property
    def alarm_b(self) -> bool:
        """Return True while any band is in alarm B."""
        return bool(self.alarm_b_raw & BAND_BITS)

    @property
    def alarm_a_bands(self) -> tuple[str, ...]:
        """Bands in alarm A, in `BANDS` order."""
        return bands_of(self.alarm_a_raw)

    @property
    def alarm_b_bands(self) -> tuple[str, ...]:
        """Bands in alarm B, in `BANDS` order."""
        return bands_of(self.alarm_b_raw)

    @property
    def enabled_a_bands(self) -> tuple[str, ...]:
        """Bands monitored by alarm A, in `BANDS` order."""
        return bands_of(self.enabled_a_raw)

    @property
    def enabled_b_bands(self) -> tuple[str, ...]:
        """Bands monitored by alarm B, in `BANDS` order."""
        return bands_of(self.enabled_b_raw)

    def current(self, band: str) -> int:
        """Residual current of one band (ValueError for an unknown band)."""
        return self.residual_current[band_index(band)]


def _eight(regs: Sequence[int], start: int) -> tuple[int, ...]:
    return tuple(regs[start + i] & 0xFFFF for i in range(len(BANDS)))


def decode_data(regs: Sequence[int]) -> DctrData:
    """Decode registers 0..35 (index = address)."""
    if len(regs) < REGISTER_COUNT:
        raise InvalidResponse(f"register image too short ({len(regs)} registers)")
    return DctrData(
        validity=regs[VALIDITY],
        residual_current=_eight(regs, CURRENTS),
        alarm_a_raw=regs[ALARM_A],
        alarm_b_raw=regs[ALARM_B],
        thresholds_a=_eight(regs, THRESHOLDS_A),
        thresholds_b=_eight(regs, THRESHOLDS_B),
        enabled_a_raw=regs[ENABLED_A],
        enabled_b_raw=regs[ENABLED_B],
        alarm_delay=regs[ALARM_DELAY],
    )


def decode_identity(regs: Sequence[int]) -> DctrIdentity:
    """Check the register image is plausible for a DCTR (else WrongDevice)."""
    if len(regs) < REGISTER_COUNT:
        raise WrongDevice(f"register image too short ({len(regs)} registers)")
    data = decode_data(regs)
    if data.validity & ~BAND_BITS & 0xFFFF:
        raise WrongDevice(f"implausible validity register 0x{data.validity:04X}")
    thresholds = data.thresholds_a + data.thresholds_b
    if not any(thresholds):
        raise WrongDevice("every alarm threshold is 0")
    if 0xFFFF in thresholds:
        raise WrongDevice("an alarm threshold reads 0xFFFF")
    for name, value in (
        ("alarm A", data.alarm_a_raw),
        ("alarm B", data.alarm_b_raw),
        ("alarm A enabled", data.enabled_a_raw),
        ("alarm B enabled", data.enabled_b_raw),
    ):
        if value & ~BAND_BITS & 0xFFFF:
            raise WrongDevice(f"{name} bitfield 0x{value:04X} uses bits 8–15")
    return DctrIdentity(
        validity=data.validity, thresholds_a=data.thresholds_a, thresholds_b=data.thresholds_b
    )


class DctrClient:
    """Reads a Doepke DCTR over one :class:`ModbusConnection`."""

    def __init__(self, connection: ModbusConnection) -> None:
        """Use ``connection`` for every request."""
        self.connection = connection

    async def identify(self) -> DctrIdentity:
        """Read the register image once and check it is plausible."""
        regs = await self.connection.read_holding_registers(FIRST_REGISTER, REGISTER_COUNT)
        return decode_identity(regs)

    async def read(self) -> DctrData:
        """Read everything in one request."""
        with self.connection.measure_poll():
            regs = await self.connection.read_holding_registers(FIRST_REGISTER, REGISTER_COUNT)
            return decode_data(regs)
