"""Siemens SENTRON PAC2200 energy meter over a `SiteModel` (docs/devices.md §3).

The meter sits at the grid connection: its total active power is the model's `grid_w`
(+ import, − export) and its phase powers are `grid_phase_w()`. Addresses are PDU
addresses = the manual's offsets (V L1-N at 1). Encoding: float32 big-endian, high word
first (2 registers); energy counters float64 big-endian (4 registers).

Electrical values (all derived from the phase powers, consistent with each other):

- L-N voltages: `voltage_ln_v` (230 V) plus a slow deterministic wobble of at most
  `voltage_noise_v` (a function of model time, so two reads at the same model time agree);
  L-L voltages from the L-N ones at 120° (= √3·U for equal voltages).
- Power factor `power_factor` per phase (1.0 for a phase without power), apparent power
  S = |P| / PF, current I = S / U, reactive power Q = ±S·sin φ (sign of P: inductive
  while importing, the inverters' side while exporting).
- Totals: P = `grid_w`, S and Q the sums of the phases, PF = |P| / S, averages of the three
  phases, neutral current the phasor sum of the signed phase currents at 120°.
- Frequency `frequency_hz` (50 Hz) plus a wobble of at most 0.02 Hz.
- Energy counters integrate the model's grid energies (`model.energy`) from the moment the
  device is created: import → 801 (tariff 1) or 805 (tariff 2), export → 809 / 813,
  reactive energy from the same energies times tan φ, apparent energy divided by PF.
  `tariff` (1 or 2) selects the tariff new energy goes to; the counters start at
  `initial_import_wh` / `initial_export_wh` on tariff 1.

Defined ranges: 1–72 (values at odd addresses 1–41 and 55–71; 43–54 undefined) and
801–840 (ten float64 counters). Default read rules (a forgiving device): any read inside
one defined range works when it starts at a value's first register and ends at a value's
last register; the undefined 43–54 read as 0 inside such a block. A read that starts or
ends in the middle of a value, or leaves the defined ranges, answers exception 02.
`refuse_block_reads = True` ("refuse block reads across gaps") makes the device strict:
every read must cover exactly one value, anything else answers exception 02.

Faults beyond the shared server's: `nan_registers` (value addresses that read NaN),
`overrides` (value address → float, e.g. 55: 0.0 for "not a PAC2200"),
`refuse_block_reads`, and `device_identification = None` (no function 43: exception 01).
"""

import math
import struct
from collections.abc import Sequence

from .modbus_server import ExceptionCode, ModbusDeviceError
from .model import SiteModel

# Float32 values (PDU address = manual offset).
VOLTAGE_LN = (1, 3, 5)
VOLTAGE_LL = (7, 9, 11)  # L1-L2, L2-L3, L3-L1
CURRENT = (13, 15, 17)
APPARENT_POWER = (19, 21, 23)
ACTIVE_POWER = (25, 27, 29)
REACTIVE_POWER = (31, 33, 35)
POWER_FACTOR = (37, 39, 41)
FREQUENCY = 55
VOLTAGE_AVG_LN = 57
VOLTAGE_AVG_LL = 59
CURRENT_AVG = 61
APPARENT_POWER_TOTAL = 63
ACTIVE_POWER_TOTAL = 65
REACTIVE_POWER_TOTAL = 67
POWER_FACTOR_TOTAL = 69
CURRENT_NEUTRAL = 71
FLOAT32_VALUES: tuple[int, ...] = (*range(1, 43, 2), *range(55, 73, 2))

# Float64 counters.
ENERGY_IMPORT = (801, 805)  # tariff 1, tariff 2
ENERGY_EXPORT = (809, 813)
REACTIVE_IMPORT = (817, 821)
REACTIVE_EXPORT = (825, 829)
APPARENT_ENERGY = (833, 837)
FLOAT64_VALUES: tuple[int, ...] = tuple(range(801, 841, 4))

RANGES = ((1, 72), (801, 840))
"""Defined ranges (first, last register)."""
GAP = range(43, 55)

NOMINAL_VOLTAGE_V = 230.0
DEFAULT_POWER_FACTOR = 0.95
SQRT3 = math.sqrt(3.0)
NAN32 = (0x7FC0, 0x0000)
NAN64 = (0x7FF8, 0x0000, 0x0000, 0x0000)


VALUE_SIZES: dict[int, int] = {
    **dict.fromkeys(FLOAT32_VALUES, 2),
    **dict.fromkeys(FLOAT64_VALUES, 4),
}
"""Value start address → register count."""
VALUE_ENDS = frozenset(start + size - 1 for start, size in VALUE_SIZES.items())


def _float32(value: float) -> tuple[int, int]:
    if math.isnan(value):
        return NAN32
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


def _float64(value: float) -> tuple[int, int, int, int]:
    if math.isnan(value):
        return NAN64
    w0, w1, w2, w3 = struct.unpack(">4H", struct.pack(">d", value))
    return w0, w1, w2, w3


class _ReadRules:
    """The PAC2200's read rules over a register image (address → word)."""

    refuse_block_reads: bool
    unit_ids: frozenset[int] | None

    def image(self) -> dict[int, int]:
        """Every defined register (and the gap, as 0)."""
        raise NotImplementedError

    def read_registers(self, address: int, count: int) -> list[int]:
        """Slice of the image; exception 02 where the device would refuse (module doc)."""
        last = address + count - 1
        if not any(first <= address and last <= end for first, end in RANGES):
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        if self.refuse_block_reads:
            if VALUE_SIZES.get(address) != count:
                raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        elif not (address in VALUE_SIZES or address in GAP) or not (
            last in VALUE_ENDS or last in GAP
        ):
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        image = self.image()
        return [image[a] for a in range(address, address + count)]

    def write_registers(self, address: int, values: list[int]) -> None:
        """Refuse: the simulated meter is read-only."""
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)


class Pac2200Device(_ReadRules):
    """SENTRON PAC2200 register image computed from the model on every read."""

    def __init__(
        self,
        model: SiteModel,
        *,
        serial: str = "LQN-SIM-220001",
        firmware: str = "V3.2.1",
        unit_ids: frozenset[int] | None = None,
    ) -> None:
        """Describe the meter; all attributes may be changed at runtime."""
        self.model = model
        self.unit_ids = unit_ids
        self.device_identification: dict[int, str] | None = {
            0: "Siemens",
            1: "PAC2200",
            2: firmware,
            0x80: serial,
        }
        """Function 43 objects (0 vendor, 1 product, 2 revision, 0x80 serial); None = no FC 43."""
        self.voltage_ln_v = NOMINAL_VOLTAGE_V
        self.voltage_noise_v = 1.5
        self.frequency_hz = 50.0
        self.power_factor = DEFAULT_POWER_FACTOR
        self.tariff = 1
        self.refuse_block_reads = False
        self.nan_registers: set[int] = set()
        """Value start addresses that read NaN."""
        self.overrides: dict[int, float] = {}
        """Value start address → value reported instead of the computed one."""
        self._counters = dict.fromkeys(FLOAT64_VALUES, 0.0)
        self._seen_import_wh = model.energy.grid_import_wh
        self._seen_export_wh = model.energy.grid_export_wh

    # Energy counters ------------------------------------------------------------------

    @property
    def initial_import_wh(self) -> float:
        """Tariff-1 import counter (assign to preset the meter reading)."""
        return self._counters[ENERGY_IMPORT[0]]

    @initial_import_wh.setter
    def initial_import_wh(self, value: float) -> None:
        self._counters[ENERGY_IMPORT[0]] = value

    @property
    def initial_export_wh(self) -> float:
        """Tariff-1 export counter (assign to preset the meter reading)."""
        return self._counters[ENERGY_EXPORT[0]]

    @initial_export_wh.setter
    def initial_export_wh(self, value: float) -> None:
        self._counters[ENERGY_EXPORT[0]] = value

    def counters(self) -> dict[int, float]:
        """Energy counters (address → Wh/varh/VAh) brought up to the model's time."""
        energy = self.model.energy
        imported = max(0.0, energy.grid_import_wh - self._seen_import_wh)
        exported = max(0.0, energy.grid_export_wh - self._seen_export_wh)
        self._seen_import_wh = energy.grid_import_wh
        self._seen_export_wh = energy.grid_export_wh
        tariff = 1 if self.tariff != 2 else 2
        index = tariff - 1
        pf = _clamp_pf(self.power_factor)
        tan_phi = math.sqrt(max(0.0, 1.0 - pf * pf)) / pf
        counters = self._counters
        counters[ENERGY_IMPORT[index]] += imported
        counters[ENERGY_EXPORT[index]] += exported
        counters[REACTIVE_IMPORT[index]] += imported * tan_phi
        counters[REACTIVE_EXPORT[index]] += exported * tan_phi
        counters[APPARENT_ENERGY[index]] += (imported + exported) / pf
        return dict(counters)

    # Instantaneous values -------------------------------------------------------------

    def values(self) -> dict[int, float]:
        """Every value (start address → float) at the model's current time."""
        model = self.model
        t = model.elapsed_s
        noise = self.voltage_noise_v
        u_ln = [
            self.voltage_ln_v + noise * math.sin(t / period + offset)
            for period, offset in ((37.0, 0.0), (53.0, 2.1), (71.0, 4.2))
        ]
        u_ll = [_line_voltage(u_ln[i], u_ln[(i + 1) % 3]) for i in range(3)]
        pf = _clamp_pf(self.power_factor)
        sin_phi = math.sqrt(max(0.0, 1.0 - pf * pf))
        powers = model.grid_phase_w()
        apparent = [abs(p) / pf for p in powers]
        currents = list(phase_currents(powers, u_ln, pf))
        reactive = [math.copysign(s * sin_phi, p) for s, p in zip(apparent, powers, strict=True)]
        pfs = [pf if p != 0 else 1.0 for p in powers]
        total_p = model.grid_w
        total_s = math.fsum(apparent)
        signed = [math.copysign(i, p) for i, p in zip(currents, powers, strict=True)]
        values: dict[int, float] = {}
        for i in range(3):
            values[VOLTAGE_LN[i]] = u_ln[i]
            values[VOLTAGE_LL[i]] = u_ll[i]
            values[CURRENT[i]] = currents[i]
            values[APPARENT_POWER[i]] = apparent[i]
            values[ACTIVE_POWER[i]] = powers[i]
            values[REACTIVE_POWER[i]] = reactive[i]
            values[POWER_FACTOR[i]] = pfs[i]
        values[FREQUENCY] = self.frequency_hz + 0.02 * math.sin(t / 29.0)
        values[VOLTAGE_AVG_LN] = math.fsum(u_ln) / 3.0
        values[VOLTAGE_AVG_LL] = math.fsum(u_ll) / 3.0
        values[CURRENT_AVG] = math.fsum(currents) / 3.0
        values[APPARENT_POWER_TOTAL] = total_s
        values[ACTIVE_POWER_TOTAL] = total_p
        values[REACTIVE_POWER_TOTAL] = math.fsum(reactive)
        values[POWER_FACTOR_TOTAL] = abs(total_p) / total_s if total_s > 0 else 1.0
        values[CURRENT_NEUTRAL] = _neutral_current(*signed)
        values.update(self.counters())
        values.update(self.overrides)
        for address in self.nan_registers:
            values[address] = math.nan
        return values

    def image(self) -> dict[int, int]:
        """Every defined register (and the gap 43–54 as 0) at the model's current time."""
        return encode(self.values())

    def snapshot(self) -> "Pac2200Snapshot":
        """The current image, frozen, with the same read rules."""
        return Pac2200Snapshot(self.image(), self.refuse_block_reads, self.unit_ids)


class Pac2200Snapshot(_ReadRules):
    """A frozen PAC2200 register image (used by `Faults.freeze`)."""

    def __init__(
        self, registers: dict[int, int], refuse_block_reads: bool, unit_ids: frozenset[int] | None
    ) -> None:
        """Keep the image and the read rules."""
        self.registers = dict(registers)
        self.refuse_block_reads = refuse_block_reads
        self.unit_ids = unit_ids

    def image(self) -> dict[int, int]:
        """The frozen image."""
        return self.registers

    def snapshot(self) -> "Pac2200Snapshot":
        """An independent copy."""
        return Pac2200Snapshot(self.registers, self.refuse_block_reads, self.unit_ids)


def phase_currents(
    powers: Sequence[float],
    voltages: Sequence[float] = (NOMINAL_VOLTAGE_V,) * 3,
    power_factor: float = DEFAULT_POWER_FACTOR,
) -> tuple[float, float, float]:
    """The current magnitudes (A) the meter shows for these phase powers (W): I = |P| / PF / U
    (0 A on a phase without voltage). The closed-loop benchmark (bench/closed_loop.py) gives
    these to our controller as the grid connection's phase currents."""
    pf = _clamp_pf(power_factor)
    i1, i2, i3 = (abs(p) / pf / u if u > 0 else 0.0 for p, u in zip(powers, voltages, strict=True))
    return (i1, i2, i3)


def encode(values: dict[int, float]) -> dict[int, int]:
    """Register image (address → word) of the values; the gap 43–54 reads 0."""
    image = dict.fromkeys(GAP, 0)
    for address in FLOAT32_VALUES:
        image.update(zip(range(address, address + 2), _float32(values[address]), strict=True))
    for address in FLOAT64_VALUES:
        image.update(zip(range(address, address + 4), _float64(values[address]), strict=True))
    return image


def _line_voltage(first: float, second: float) -> float:
    """Magnitude of the difference of two phasors 120° apart."""
    return math.sqrt(first * first + second * second + first * second)


def _neutral_current(i1: float, i2: float, i3: float) -> float:
    """Magnitude of the phasor sum of three currents 120° apart (signs = direction)."""
    return math.sqrt(max(0.0, i1 * i1 + i2 * i2 + i3 * i3 - i1 * i2 - i2 * i3 - i3 * i1))


def _clamp_pf(pf: float) -> float:
    return min(max(pf, 0.05), 1.0)
