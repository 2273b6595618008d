"""E3DC S10 "Simple Mode" register image over a `SiteModel` (docs/devices.md §1).

Addresses are PDU addresses; the E3DC manual numbers registers from 1 (manual = PDU + 1,
e.g. the magic at PDU 40000 is manual register 40001). Encoding:

- 32-bit values low word first: PDU n = low word, n + 1 = high word, two's complement.
- ASCII strings: 16 registers (32 bytes), NUL padded, first character in the high byte.
- Byte pairs (firmware, autarky/self-consumption): high byte first value, low byte second.

PDU 40000..40136 is defined, the whole block a real S10 answers (holes read 0; the last
register holds the SG-Ready state, which our driver does not read); reads outside raise
exception 02. The device
is read-only: every write raises exception 02 (illegal data address).
"""

from .modbus_server import ExceptionCode, ModbusDeviceError, RegisterImage
from .model import SiteModel

E3DC_MAGIC = 0xE3DC
FIRST_REGISTER = 40000
LAST_REGISTER = 40136
REGISTER_COUNT = LAST_REGISTER - FIRST_REGISTER + 1

# PDU addresses (manual register number = PDU + 1).
MAGIC = 40000  # manual 40001
MODBUS_FIRMWARE = 40001  # manual 40002
SUPPORTED_REGISTERS = 40002  # manual 40003
MANUFACTURER = 40003  # manual 40004 (16 registers)
MODEL = 40019  # manual 40020 (16 registers)
SERIAL = 40035  # manual 40036 (16 registers)
FIRMWARE = 40051  # manual 40052 (16 registers)
PV_POWER = 40067  # manual 40068 (i32)
BATTERY_POWER = 40069  # manual 40070 (i32)
HOUSE_POWER = 40071  # manual 40072 (i32)
GRID_POWER = 40073  # manual 40074 (i32)
ADDITIONAL_POWER = 40075  # manual 40076 (i32)
WALLBOX_POWER = 40077  # manual 40078 (i32)
WALLBOX_SOLAR_POWER = 40079  # manual 40080 (i32)
AUTARKY_SELF_CONSUMPTION = 40081  # manual 40082
SOC = 40082  # manual 40083
EMERGENCY_POWER = 40083  # manual 40084
EMS_STATUS = 40084  # manual 40085
WALLBOX_CONTROL = 40087  # manual 40088..40095 (8 registers)
DC_VOLTAGE = 40095  # manual 40096..40098
DC_CURRENT = 40098  # manual 40099..40101 (0.01 A)
DC_POWER = 40101  # manual 40102..40104
POWER_METERS = 40104  # manual 40105 + 4·i: type, then L1/L2/L3 as i16
SG_READY = 40136  # manual 40137: SG-Ready state (served for third-party clients)

STRING_REGISTERS = 16
DC_STRINGS = 3
METER_TYPE_ROOT = 1

EMERGENCY_NOT_ACTIVE = 2
EMS_EMERGENCY_POWER_POSSIBLE = 1 << 2
EMS_CURTAILMENT_ACTIVE = 1 << 4
"""Set while the model's inverter curtails its PV to the feed-in limit (docs/devices.md §1)."""


class E3dcDevice:
    """E3DC S10 register image computed from the model on every read."""

    unit_ids: frozenset[int] | None

    def __init__(
        self,
        model: SiteModel,
        *,
        manufacturer: str = "HagerEnergy GmbH",
        model_name: str = "S10 X Compact",
        serial: str = "S10-SIM-000001",
        firmware: str = "S10_2024_05",
        modbus_fw: tuple[int, int] = (1, 90),
        unit_ids: frozenset[int] | None = None,
    ) -> None:
        """Describe the device; all attributes may be changed at runtime."""
        self.model = model
        self.manufacturer = manufacturer
        self.model_name = model_name
        self.serial = serial
        self.firmware = firmware
        self.modbus_fw = modbus_fw
        self.unit_ids = unit_ids
        self.wrong_magic = False
        """Report 0x0000 instead of 0xE3DC at PDU 40000 (not an E3DC)."""
        self.emergency_power = EMERGENCY_NOT_ACTIVE
        self.ems_status = EMS_EMERGENCY_POWER_POSSIBLE
        """EMS status bits a test sets; bit 4 (curtailment active) comes on top of them
        while the model curtails (`SiteModel.curtailed`)."""
        self.sg_ready_state = 0
        """SG-Ready state at PDU 40136 (0 unless a test sets it)."""
        self.wallbox_power_w = 0
        """E3DC-managed wallbox power (40077); not a third-party wallbox."""
        self.wallbox_solar_power_w = 0
        self.wallbox_control = [0] * 8
        """Control words of E3DC's own wallboxes 0..7."""

    def registers(self) -> list[int]:
        """The full image PDU 40000..40136, index 0 = PDU 40000."""
        model = self.model
        image = [0] * REGISTER_COUNT

        def put(address: int, words: list[int]) -> None:
            start = address - FIRST_REGISTER
            image[start : start + len(words)] = words

        put(MAGIC, [0 if self.wrong_magic else E3DC_MAGIC])
        put(MODBUS_FIRMWARE, [_byte_pair(*self.modbus_fw)])
        put(SUPPORTED_REGISTERS, [REGISTER_COUNT])
        put(MANUFACTURER, _ascii(self.manufacturer))
        put(MODEL, _ascii(self.model_name))
        put(SERIAL, _ascii(self.serial))
        put(FIRMWARE, _ascii(self.firmware))
        put(PV_POWER, _i32(model.pv_w))
        put(BATTERY_POWER, _i32(model.battery_w))
        put(HOUSE_POWER, _i32(model.house_w))
        put(GRID_POWER, _i32(model.grid_w))
        put(ADDITIONAL_POWER, _i32(model.additional_feeder_w))
        put(WALLBOX_POWER, _i32(self.wallbox_power_w))
        put(WALLBOX_SOLAR_POWER, _i32(self.wallbox_solar_power_w))
        autarky = round(model.autarky_pct)
        put(AUTARKY_SELF_CONSUMPTION, [_byte_pair(autarky, round(model.self_consumption_pct))])
        put(SOC, [_u16(model.soc_pct)])
        put(EMERGENCY_POWER, [self.emergency_power & 0xFFFF])
        put(EMS_STATUS, [ems_status(self.ems_status, model)])
        put(WALLBOX_CONTROL, [w & 0xFFFF for w in self.wallbox_control])
        strings = model.pv_strings()[:DC_STRINGS]
        for i, string in enumerate(strings):
            put(DC_VOLTAGE + i, [_u16(string.voltage_v)])
            put(DC_CURRENT + i, [_u16(string.current_a * 100.0)])
            put(DC_POWER + i, [_u16(string.power_w)])
        put(POWER_METERS, [METER_TYPE_ROOT, *(_i16(p) for p in model.grid_phase_w())])
        put(SG_READY, [self.sg_ready_state & 0xFFFF])
        return image

    def read_registers(self, address: int, count: int) -> list[int]:
        """Slice of the image; exception 02 if any address is outside 40000..40136."""
        if address < FIRST_REGISTER or address + count - 1 > LAST_REGISTER:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        start = address - FIRST_REGISTER
        return self.registers()[start : start + count]

    def write_registers(self, address: int, values: list[int]) -> None:
        """Refuse: the E3DC is read-only over Modbus."""
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)

    def snapshot(self) -> RegisterImage:
        """The current image as a fixed, read-only register map."""
        image = self.registers()
        return RegisterImage(
            {FIRST_REGISTER + i: v for i, v in enumerate(image)}, unit_ids=self.unit_ids
        )


def ems_status(bits: int, model: SiteModel) -> int:
    """The EMS status word (PDU 40084): ``bits`` with bit 4 set while ``model`` curtails."""
    curtailment = EMS_CURTAILMENT_ACTIVE if model.curtailed else 0
    return (bits | curtailment) & 0xFFFF


def _u16(value: float) -> int:
    return min(max(round(value), 0), 0xFFFF)


def _i16(value: float) -> int:
    return min(max(round(value), -0x8000), 0x7FFF) & 0xFFFF


def _i32(value: float) -> list[int]:
    raw = min(max(round(value), -0x8000_0000), 0x7FFF_FFFF) & 0xFFFF_FFFF
    return [raw & 0xFFFF, raw >> 16]


def _byte_pair(high: int, low: int) -> int:
    return (min(max(high, 0), 0xFF) << 8) | min(max(low, 0), 0xFF)


def _ascii(text: str) -> list[int]:
    """16 registers, two characters each (first in the high byte); longer text is cut."""
    data = text.encode("ascii", "replace")[: 2 * STRING_REGISTERS]
    data = data.ljust(2 * STRING_REGISTERS, b"\0")
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]
