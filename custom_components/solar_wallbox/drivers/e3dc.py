"""E3DC S10 "Simple Mode" Modbus driver (read-only; no Home Assistant imports).

Register facts: docs/devices.md §1. PDU address = manual number − 1; 32-bit values
are low word first; the device cannot be controlled over Modbus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Final

from .modbus import (
    InvalidResponse,
    ModbusConnection,
    WordOrder,
    WrongDevice,
    ascii_string,
    bit,
    high_byte,
    i16,
    i32,
    low_byte,
)

MAGIC: Final = 0xE3DC
MAGIC_ADDRESS: Final = 40000
IDENTITY_COUNT: Final = 67  # 40000..40066: magic, firmware, register count, 4 strings
DATA_ADDRESS: Final = 40067
DATA_COUNT: Final = 69  # 40067..40135: power flow up to the last power meter phase
WALLBOX_COUNT: Final = 8
STRING_COUNT: Final = 3
METER_COUNT: Final = 8


class EmergencyPower(IntEnum):
    """Emergency power state (PDU 40083)."""

    NOT_SUPPORTED = 0
    ACTIVE = 1
    NOT_ACTIVE = 2
    NOT_AVAILABLE = 3
    SWITCH_WRONG_POSITION = 4


class EmsStatus(IntFlag):
    """EMS status bits (PDU 40084)."""

    CHARGING_LOCKED = 1 << 0
    DISCHARGING_LOCKED = 1 << 1
    EMERGENCY_POWER_POSSIBLE = 1 << 2
    WEATHER_BASED_CHARGING = 1 << 3
    CURTAILMENT_ACTIVE = 1 << 4
    CHARGE_LOCK_TIME = 1 << 5
    DISCHARGE_LOCK_TIME = 1 << 6


class MeterType(IntEnum):
    """Type of an E3DC power meter (PDU 40104 + 4·i)."""

    ROOT = 1
    EXTERNAL_PRODUCTION = 2
    BIDIRECTIONAL = 3
    EXTERNAL_CONSUMPTION = 4
    FARM = 5
    UNUSED = 6
    WALLBOX = 7
    EXTERNAL_FARM = 8
    DISPLAY_ONLY = 9
    REGULATION_BYPASS = 10


@dataclass(frozen=True, slots=True)
class E3dcIdentity:
    """What the device says about itself (read once)."""

    manufacturer: str
    model: str
    serial: str
    firmware: str
    modbus_version: str
    register_count: int


@dataclass(frozen=True, slots=True)
class E3dcWallbox:
    """Control word of one E3DC-managed wallbox (read-only for us)."""

    raw: int

    @property
    def present(self) -> bool:
        """Return True when a wallbox is configured in this slot."""
        return bit(self.raw, 0)

    @property
    def charging(self) -> bool:
        """Return True while the wallbox charges."""
        return bit(self.raw, 3)

    @property
    def plugged(self) -> bool:
        """Return True while a car is plugged in."""
        return bit(self.raw, 5)

    @property
    def one_phase(self) -> bool:
        """Return True when the wallbox charges on one phase."""
        return bit(self.raw, 12)


@dataclass(frozen=True, slots=True)
class DcString:
    """One PV string (DC side of the inverter)."""

    voltage: int
    current: float
    power: int


@dataclass(frozen=True, slots=True)
class PowerMeter:
    """One of the E3DC's power meters."""

    type: int
    power_l1: int
    power_l2: int
    power_l3: int

    @property
    def installed(self) -> bool:
        """Return True for a meter slot that is in use."""
        return self.type not in (0, MeterType.UNUSED)

    @property
    def power(self) -> int:
        """Sum of the three phases."""
        return self.power_l1 + self.power_l2 + self.power_l3


@dataclass(frozen=True, slots=True)
class E3dcData:
    """One poll of the E3DC (signs as the device reports them)."""

    pv_power: int
    battery_power: int  # + charging, − discharging
    house_power: int
    grid_power: int  # + import, − export
    additional_power: int  # negative while producing
    wallbox_power: int
    wallbox_solar_power: int
    autarky: int
    self_consumption: int
    battery_soc: int
    emergency_power: EmergencyPower | None
    ems_status: int
    wallboxes: tuple[E3dcWallbox, ...]
    strings: tuple[DcString, ...]
    meters: tuple[PowerMeter, ...]

    @property
    def additional_production(self) -> int:
        """Power produced by additional feeders, ≥ 0."""
        return max(0, -self.additional_power)

    def ems_flag(self, flag: EmsStatus) -> bool:
        """Return one EMS status bit."""
        return bool(self.ems_status & flag)


def decode_identity(regs: Sequence[int]) -> E3dcIdentity:
    """Decode PDU 40000..40066; raise WrongDevice without the magic value."""
    if len(regs) < IDENTITY_COUNT:
        raise WrongDevice(f"identity block too short ({len(regs)} registers)")
    if regs[0] != MAGIC:
        raise WrongDevice(f"no E3DC magic value at {MAGIC_ADDRESS} (found 0x{regs[0]:04X})")
    return E3dcIdentity(
        modbus_version=f"{high_byte(regs[1])}.{low_byte(regs[1]):02d}",
        register_count=regs[2],
        manufacturer=ascii_string(regs, 3, 16),
        model=ascii_string(regs, 19, 16),
        serial=ascii_string(regs, 35, 16),
        firmware=ascii_string(regs, 51, 16),
    )


def decode_data(regs: Sequence[int]) -> E3dcData:
    """Decode PDU 40067..40135 (index 0 = PDU 40067)."""
    if len(regs) < DATA_COUNT:
        raise InvalidResponse(f"data block too short ({len(regs)} registers)")

    def at(pdu: int) -> int:
        return pdu - DATA_ADDRESS

    def s32(pdu: int) -> int:
        return i32(regs, at(pdu), word_order=WordOrder.LOW_FIRST)

    emergency_raw = regs[at(40083)]
    try:
        emergency: EmergencyPower | None = EmergencyPower(emergency_raw)
    except ValueError:
        emergency = None
    strings = tuple(
        DcString(
            voltage=regs[at(40095) + i],
            current=regs[at(40098) + i] / 100,
            power=regs[at(40101) + i],
        )
        for i in range(STRING_COUNT)
    )
    meters = tuple(
        PowerMeter(
            type=regs[at(40104) + 4 * i],
            power_l1=i16(regs, at(40105) + 4 * i),
            power_l2=i16(regs, at(40106) + 4 * i),
            power_l3=i16(regs, at(40107) + 4 * i),
        )
        for i in range(METER_COUNT)
    )
    return E3dcData(
        pv_power=s32(40067),
        battery_power=s32(40069),
        house_power=s32(40071),
        grid_power=s32(40073),
        additional_power=s32(40075),
        wallbox_power=s32(40077),
        wallbox_solar_power=s32(40079),
        autarky=high_byte(regs[at(40081)]),
        self_consumption=low_byte(regs[at(40081)]),
        battery_soc=regs[at(40082)],
        emergency_power=emergency,
        ems_status=regs[at(40084)],
        wallboxes=tuple(E3dcWallbox(regs[at(40087) + i]) for i in range(WALLBOX_COUNT)),
        strings=strings,
        meters=meters,
    )


class E3dcClient:
    """Reads an E3DC S10 over one :class:`ModbusConnection`."""

    def __init__(self, connection: ModbusConnection) -> None:
        """Use ``connection`` for every request."""
        self.connection = connection

    async def identify(self) -> E3dcIdentity:
        """Check the magic value and read manufacturer, model, serial and firmware."""
        regs = await self.connection.read_holding_registers(MAGIC_ADDRESS, IDENTITY_COUNT)
        return decode_identity(regs)

    async def read(self) -> E3dcData:
        """Read everything that changes, in one request."""
        with self.connection.measure_poll():
            regs = await self.connection.read_holding_registers(DATA_ADDRESS, DATA_COUNT)
            return decode_data(regs)
