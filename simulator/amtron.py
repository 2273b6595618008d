"""Mennekes AMTRON ("ECU", Bender CC612/613) Modbus TCP server over a `SiteModel` + `Car`.

Register map and encodings (docs/devices.md §2), all PDU addresses, FC03/04 reads, FC06/16 writes:

- 32-bit values high word first (200 = 0x0001, 201 = 0x1F40 → 73536); 16-bit values
  saturate at 0xFFFF (which the spec also uses as "not available").
- ASCII: two characters per register, first in the high byte. Firmware "5.22" in 100–101,
  protocol version in 120–121, model in 142–151 (NUL padded), RFID tag in 720–729 LEFT-padded
  with spaces (no tag: all spaces), EVCCID in 741–746 (no EVCCID: all zero).
- Error codes 111–112 in the spec's order: the 32-bit value's bytes little-endian over
  111-high, 111-low, 112-high, 112-low (0x00000041 → 0x4100, 0x0000).
- Session start 707–708: BCD 0x00HHMMSS as a 32-bit value, high word first
  (14:35:07 → 0x0014, 0x3507).
- Availability 124: 1 = available on firmware ≥ 5.22, inverted (0 = available) before.

Readable: 100–152, 200–227, 705–746, 1000 (holes read 0); anything else, or a range that
leaves them, raises exception 02. With ``firmware`` below "5.22", 142–152, 218–227,
716–719 and 730–746 raise exception 02 as well. Writable: 124 (0/1), 131 (0 or 6..32),
132 (any), 1000 (0 or 6..32) and 1110–1119 (id tag, acts like presenting a card); a value
outside the range raises exception 03, a write to any other register exception 02.

Behaviour (time = the model's simulated seconds, `SiteModel.elapsed_s`; the device steps
through `SiteModel.steppers`, so `model.step(dt)` advances the car as well):

- OCPP status 104: Available → Preparing on plug-in (for `preparing_s`) → Charging while
  the car draws → SuspendedEV when the car is full (or refuses the offer: `Car.refuses`),
  SuspendedEVSE while the offer is below 6 A (limit 0) → Finishing for `finishing_s` after
  unplugging → Available.
- Offer / signalled current 706 = min(effective limit, operator limit 134, cable 715),
  0 when below the minimum current 712. Effective limit = HEMS limit 1000, or
  SAFE_CURRENT 131 once no request arrived for COMM_TIMEOUT 132 seconds (0 disables)
  until the next write to 1000.
- The car's power per phase goes into ``model.loads["wallbox"]`` (E3DC house power and
  grid power include it), and into the lifetime meter and the session counters.
- ``glitches``: reads occasionally return 0xFFFF, 0xFFFF for one 32-bit meter value, and
  short state-E episodes appear in 122.

Use `create_server()` for a server that, like the real charger, accepts one connection.
"""

import argparse
import random
import struct
from collections.abc import Iterable

from .car import Car, CarConfig, IecState
from .modbus_server import (
    ExceptionCode,
    Faults,
    ModbusDeviceError,
    ModbusTcpServer,
    RegisterImage,
    SimDevice,
)
from .model import DAY_S, SiteModel

LOAD_NAME = "wallbox"

# OCPP status (104).
AVAILABLE, UNAVAILABLE, FAULTED = 0, 3, 4
PREPARING, CHARGING, SUSPENDED_EVSE, SUSPENDED_EV, FINISHING = 5, 6, 7, 8, 9

READABLE = ((100, 152), (200, 227), (705, 746), (1000, 1000))
"""Inclusive ranges that can be read (firmware ≥ 5.22)."""
NEW_FIRMWARE_ONLY = ((142, 152), (218, 227), (716, 719), (730, 746))
"""Inclusive ranges that raise exception 02 on firmware < 5.22."""
ID_TAG_WRITE = range(1110, 1120)
METER_VALUES_32 = (200, 206, 208, 210, 212, 214, 216, 218, 220, 222, 224, 226, 716, 718)
"""32-bit values a glitch may replace with 0xFFFFFFFF."""
HEMS_MIN_A, HEMS_MAX_A = 6, 32


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major or 0), int(minor or 0)


class AmtronDevice:
    """The charger's register image, computed from the model and the car on every read.

    Every attribute documented in `__init__` may be changed at runtime (test knobs).
    """

    unit_ids: frozenset[int] | None

    def __init__(
        self,
        model: SiteModel,
        car: Car | None = None,
        *,
        firmware: str = "5.22",
        protocol_version: str = "1.07",
        model_name: str = "CC612_2S0R_CC",
        operator_limit_a: int = 16,
        min_current_a: int = 6,
        safe_current_a: int = 6,
        comm_timeout_s: int = 60,
        meter_wh: float = 1_100_000.0,
        voltage_v: float = 230.0,
        glitches: bool = False,
        seed: int = 0,
        unit_ids: frozenset[int] | None = None,
    ) -> None:
        """Create the charger with no car plugged in; `plug_in()` connects ``car``."""
        self.model = model
        self.car = car if car is not None else Car()
        self.firmware = firmware
        """ASCII in 100–101; below "5.22" the newer registers raise exception 02 and the
        availability register is inverted."""
        self.protocol_version = protocol_version
        self.model_name = model_name
        self.operator_limit_a = operator_limit_a
        self.min_current_a = min_current_a
        self.hems_limit_a = HEMS_MAX_A
        """Register 1000 (boots with 32)."""
        self.safe_current_a = safe_current_a
        self.comm_timeout_s = comm_timeout_s
        self.available = True
        self.faulted = False
        """OCPP status Faulted (independent of `error_bits`)."""
        self.error_bits = 0
        """32-bit error value (bit 0 RCMB … bit 21 no power), encoded in 111–112."""
        self.meter_wh = meter_wh
        """Lifetime meter (200–201 and 218–219)."""
        self.voltage_v = voltage_v
        self.idle_ma = 6
        """Current shown on a phase that carries nothing (the meter's noise)."""
        self.preparing_s = 2.0
        self.finishing_s = 3.0
        self.hems_write_cap: int | None = None
        """Store min(value, cap) on writes to 1000 (a charger that silently clamps)."""
        self.force_state_e = False
        """Report vehicle state E (5) in 122 while True."""
        self.glitches = glitches
        self.glitch_na_probability = 0.05
        """Per read request: chance that one 32-bit meter value in it reads 0xFFFFFFFF."""
        self.glitch_e_per_h = 6.0
        self.glitch_e_duration_s = (1.0, 5.0)
        self.unit_ids = unit_ids
        self.car_arrives_s: float | None = None
        """Plug the car in when the time of day (`SiteModel.t_s`) reaches this."""
        self.car_leaves_s: float | None = None
        """Unplug the car when the time of day reaches this."""
        self.writes: list[tuple[int, int]] = []
        """Every accepted write as (address, value), in order."""
        self.rng = random.Random(seed)

        self.fallback_active = False
        """True once COMM_TIMEOUT expired, until the next write to 1000."""
        self.last_request_s = model.elapsed_s
        self.status = AVAILABLE
        self.session_tag: str | None = None
        self.session_energy_wh = 0.0
        self.session_start_s: float | None = None
        """Time of day of the last plug-in (None before the first session)."""
        self._plugged_at: float | None = None
        self._unplugged_at: float | None = None
        self._glitch_e_until = -1.0
        self._schedule_t: float | None = None
        self._id_tag_words = [0] * len(ID_TAG_WRITE)
        model.steppers.append(self.step)
        self._update_load()

    # Car --------------------------------------------------------------------------------

    @property
    def new_firmware(self) -> bool:
        """Firmware 5.22 or later."""
        return _version(self.firmware) >= (5, 22)

    @property
    def now(self) -> float:
        """The device's clock: the model's elapsed simulated seconds."""
        return self.model.elapsed_s

    def plug_in(self, config: CarConfig | None = None) -> None:
        """Plug the car in (optionally with a new configuration); a session starts."""
        car = self.car
        if config is not None:
            car.config = config
            car.soc_pct = config.soc_pct
        car.plug_in()
        self._plugged_at = self.now
        self._unplugged_at = None
        self.session_start_s = self.model.t_s
        self.session_energy_wh = 0.0
        self.session_tag = car.config.tag
        self.status = PREPARING
        self._update_load()

    def resume_session(self, plugged_for_s: float, energy_wh: float) -> None:
        """Be in a session that began ``plugged_for_s`` ago with ``energy_wh`` charged so far.

        For fixtures (tests/fixtures/amtron.json): the car is plugged in and draws what the
        current offer gives it, settled, without simulating the hours before; the session
        start is that many seconds before the model's time of day.
        """
        self.plug_in()
        self._plugged_at = self.now - plugged_for_s
        self.session_start_s = (self.model.t_s - plugged_for_s) % DAY_S
        self.session_energy_wh = energy_wh
        self.car.settle(self.car.target_for(self.offer_a))
        self._update_status()
        self._update_load()

    def unplug(self) -> None:
        """Unplug the car; the session values stay readable, the tag is cleared."""
        self.car.unplug()
        self._unplugged_at = self.now
        self.session_tag = None
        self.status = FINISHING
        self._update_load()

    @property
    def effective_limit_a(self) -> int:
        """HEMS limit, or SAFE_CURRENT while the communication fallback is active."""
        return self.safe_current_a if self.fallback_active else self.hems_limit_a

    @property
    def offer_a(self) -> int:
        """Signalled current (706): what the car is offered now."""
        car = self.car
        if not car.plugged or self._plugged_at is None:
            return 0
        if self.now - self._plugged_at < self.preparing_s or not self.available or self.faulted:
            return 0
        offer = min(self.effective_limit_a, self.operator_limit_a, car.config.cable_max_a)
        return offer if offer >= max(self.min_current_a, 1) else 0

    @property
    def vehicle_state(self) -> int:
        """Register 122."""
        if self.force_state_e or self.now < self._glitch_e_until:
            return int(IecState.E)
        return int(self.car.state)

    @property
    def session_duration_s(self) -> float:
        """Seconds since plug-in (until unplugging); 0 before the first session."""
        if self._plugged_at is None:
            return 0.0
        end = self._unplugged_at if self._unplugged_at is not None else self.now
        return max(0.0, end - self._plugged_at)

    # Time -------------------------------------------------------------------------------

    def step(self, dt_s: float) -> None:
        """Advance the car and the charger by `dt_s` (called by `SiteModel.step`)."""
        self._follow_schedule()
        self._check_comm_timeout()
        car = self.car
        energy = car.step(dt_s, self.offer_a, self.voltage_v)
        self.meter_wh += energy
        if car.plugged:
            self.session_energy_wh += energy
        self._update_status()
        self._update_load()
        if (
            self.glitches
            and self.now >= self._glitch_e_until
            and self.rng.random() < self.glitch_e_per_h * dt_s / 3600.0
        ):
            self._glitch_e_until = self.now + self.rng.uniform(*self.glitch_e_duration_s)

    def _follow_schedule(self) -> None:
        """Plug in when the time of day passes `car_arrives_s`, unplug at `car_leaves_s`.

        On the first step the car is put into the state the schedule implies for the
        current time; after that only the crossings act, so `plug_in()` and `unplug()`
        called directly are not undone.
        """
        arrives, leaves = self.car_arrives_s, self.car_leaves_s
        t, previous = self.model.t_s, self._schedule_t
        self._schedule_t = t
        if arrives is None and leaves is None:
            return
        if previous is None:
            present = _inside_window(t, arrives, leaves)
        elif arrives is not None and _crossed(previous, t, arrives):
            present = True
        elif leaves is not None and _crossed(previous, t, leaves):
            present = False
        else:
            return
        if present and not self.car.plugged:
            self.plug_in()
        elif not present and self.car.plugged:
            self.unplug()

    def _check_comm_timeout(self) -> None:
        timeout = self.comm_timeout_s
        if timeout > 0 and self.now - self.last_request_s >= timeout:
            self.fallback_active = True

    def _update_status(self) -> None:
        car = self.car
        if not car.plugged:
            if self._unplugged_at is not None and self.now - self._unplugged_at < self.finishing_s:
                self.status = FINISHING
            else:
                self.status = AVAILABLE
            return
        assert self._plugged_at is not None
        if self.now - self._plugged_at < self.preparing_s:
            self.status = PREPARING
        elif self.offer_a < HEMS_MIN_A:
            self.status = SUSPENDED_EVSE
        elif car.state in (IecState.C, IecState.D):
            self.status = CHARGING
        elif car.refuses(self.offer_a):  # full, or below its own minimum current
            self.status = SUSPENDED_EV
        # else: the car has not reacted to the offer yet, keep the status

    def _update_load(self) -> None:
        self.model.loads[LOAD_NAME] = self.car.phase_power(self.voltage_v)

    # Registers --------------------------------------------------------------------------

    def ocpp_status(self) -> int:
        """Register 104."""
        if not self.available:
            return UNAVAILABLE
        if self.faulted:
            return FAULTED
        return self.status

    def registers(self) -> dict[int, int]:
        """Every readable register (for this firmware) → its value."""
        image: dict[int, int] = {}
        for first, last in READABLE:
            image.update(dict.fromkeys(range(first, last + 1), 0))
        car = self.car

        def put(address: int, words: Iterable[int]) -> None:
            for offset, word in enumerate(words):
                image[address + offset] = word & 0xFFFF

        put(100, ascii_words(self.firmware, 2))
        put(104, [self.ocpp_status()])
        put(111, encode_error_bits(self.error_bits))
        put(120, ascii_words(self.protocol_version, 2))
        put(122, [self.vehicle_state])
        available = self.available if self.new_firmware else not self.available
        put(124, [int(available)])
        put(131, [self.safe_current_a])
        put(132, [self.comm_timeout_s])
        put(134, [self.operator_limit_a])
        put(142, ascii_words(self.model_name, 10))
        put(152, [int(car.plugged)])

        currents = car.phase_currents
        powers = car.phase_power(self.voltage_v)
        put(200, u32_words(self.meter_wh))
        for i in range(3):
            put(206 + 2 * i, u32_words(powers[i]))
            milliamps = currents[i] * 1000.0 if currents[i] > 0 else self.idle_ma
            put(212 + 2 * i, u32_words(milliamps))
            put(222 + 2 * i, u32_words(self.voltage_v))
        put(218, u32_words(self.meter_wh))
        put(220, u32_words(sum(round(p) for p in powers)))

        duration = self.session_duration_s
        put(705, [u16_saturated(self.session_energy_wh)])
        put(706, [self.offer_a])
        start = self.session_start_s
        put(707, u32_words(0 if start is None else bcd_time(start)))
        put(709, [u16_saturated(duration)])
        put(712, [self.min_current_a])
        put(715, [car.config.cable_max_a if car.plugged else 0])
        put(716, u32_words(self.session_energy_wh))
        put(718, u32_words(duration))
        put(720, rfid_words(self.session_tag))
        evccid = car.config.evccid if car.plugged else None
        put(741, ascii_words(evccid or "", 6))
        put(1000, [self.hems_limit_a])
        if not self.new_firmware:
            for first, last in NEW_FIRMWARE_ONLY:
                for address in range(first, last + 1):
                    del image[address]
        return image

    def read_registers(self, address: int, count: int) -> list[int]:
        """Registers ``address`` .. +count; exception 02 if one is not readable."""
        self._request()
        image = self.registers()
        addresses = range(address, address + count)
        if not all(a in image for a in addresses):
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        words = [image[a] for a in addresses]
        if self.glitches and self.rng.random() < self.glitch_na_probability:
            inside = [a for a in METER_VALUES_32 if address <= a and a + 1 < address + count]
            if inside:
                victim = self.rng.choice(inside) - address
                words[victim : victim + 2] = [0xFFFF, 0xFFFF]
        return words

    def write_registers(self, address: int, values: list[int]) -> None:
        """Write 124, 131, 132, 1000 or 1110–1119 (see the module docstring)."""
        self._request()
        addresses = range(address, address + len(values))
        if all(a in ID_TAG_WRITE for a in addresses):
            self._write_id_tag(address, values)
            return
        if not all(a in (124, 131, 132, 1000) for a in addresses):
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        for a, value in zip(addresses, values, strict=True):
            if a in (131, 1000) and not (value == 0 or HEMS_MIN_A <= value <= HEMS_MAX_A):
                raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
            if a == 124 and value not in (0, 1):
                raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_VALUE)
        for a, value in zip(addresses, values, strict=True):
            self.writes.append((a, value))
            if a == 1000:
                cap = self.hems_write_cap
                self.hems_limit_a = value if cap is None else min(value, cap)
                self.fallback_active = False
            elif a == 131:
                self.safe_current_a = value
            elif a == 132:
                self.comm_timeout_s = value
            else:
                self.available = bool(value) if self.new_firmware else not value

    def _write_id_tag(self, address: int, values: list[int]) -> None:
        """1110–1119 collect an id tag; with a car plugged in it becomes the session's."""
        for a, value in zip(range(address, address + len(values)), values, strict=True):
            self.writes.append((a, value))
            self._id_tag_words[a - ID_TAG_WRITE.start] = value & 0xFFFF
        raw = b"".join(struct.pack(">H", w) for w in self._id_tag_words)
        tag = raw.decode("ascii", "replace").replace("\0", "").strip() or None
        if self.car.plugged:
            self.session_tag = tag

    def _request(self) -> None:
        # The silence is judged before this request counts.
        self._check_comm_timeout()
        self.last_request_s = self.now

    def snapshot(self) -> RegisterImage:
        """The current image as a fixed, read-only register map."""
        return RegisterImage(self.registers(), unit_ids=self.unit_ids)


def _crossed(previous: float, now: float, mark: float) -> bool:
    """Whether the time of day passed `mark` in (previous, now], across midnight too."""
    if previous <= now:
        return previous < mark <= now
    return mark > previous or mark <= now


def _inside_window(t: float, arrives: float | None, leaves: float | None) -> bool:
    if arrives is None:
        return leaves is not None and t < leaves
    if leaves is None:
        return t >= arrives
    if arrives < leaves:
        return arrives <= t < leaves
    return t >= arrives or t < leaves  # over midnight


def create_server(
    device: AmtronDevice, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None
) -> ModbusTcpServer:
    """A server for ``device`` that accepts one connection at a time, like the charger."""
    return ModbusTcpServer(device, host, port, faults if faults is not None else amtron_faults())


def amtron_faults() -> Faults:
    """Faults of a fresh charger server: `max_connections` = 1."""
    return Faults(max_connections=1)


# Encodings ---------------------------------------------------------------------------


def u32_words(value: float) -> list[int]:
    """32-bit unsigned, high word first (rounded, clamped below 0xFFFFFFFF)."""
    raw = min(max(round(value), 0), 0xFFFF_FFFE)
    return [raw >> 16, raw & 0xFFFF]


def u16_saturated(value: float) -> int:
    """16-bit unsigned, saturating at 0xFFFF."""
    return min(max(round(value), 0), 0xFFFF)


def ascii_words(text: str, count: int, *, pad: bytes = b"\0", left: bool = False) -> list[int]:
    """``count`` registers of ASCII, first character in the high byte; cut or padded."""
    data = text.encode("ascii", "replace")[: 2 * count]
    data = data.rjust(2 * count, pad) if left else data.ljust(2 * count, pad)
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def rfid_words(tag: str | None) -> list[int]:
    """720–729: the tag LEFT-padded with spaces to 20 characters; no tag = all spaces."""
    return ascii_words(tag or "", 10, pad=b" ", left=True)


def encode_error_bits(value: int) -> list[int]:
    """111–112 in the spec's order (inverse of swapping words, then bytes)."""
    data = (value & 0xFFFF_FFFF).to_bytes(4, "little")
    return [(data[0] << 8) | data[1], (data[2] << 8) | data[3]]


def bcd_time(seconds_of_day: float) -> int:
    """0x00HHMMSS in BCD for a time of day."""
    total = int(seconds_of_day) % 86400
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    value = 0
    for part in (hours, minutes, seconds):
        value = (value << 8) | ((part // 10) << 4) | (part % 10)
    return value


# Command line (``python -m simulator``) --------------------------------------------


def _clock(text: str) -> float:
    hours, sep, minutes = text.partition(":")
    if sep and hours.isdigit() and minutes.isdigit():
        h, m = int(hours), int(minutes)
        if 0 <= h < 24 and 0 <= m < 60:
            return h * 3600.0 + m * 60.0
    raise argparse.ArgumentTypeError(f"expected HH:MM, got {text!r}")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the charger and its car."""
    group = parser.add_argument_group("Amtron charger and car")
    group.add_argument(
        "--amtron-firmware",
        default="5.22",
        metavar="X.YY",
        help="ECU firmware (default 5.22; below 5.22 the newer registers raise exceptions)",
    )
    group.add_argument(
        "--amtron-glitches",
        action="store_true",
        help="occasional 0xFFFFFFFF reads and short vehicle state E episodes",
    )
    group.add_argument(
        "--car-arrives",
        type=_clock,
        metavar="HH:MM",
        help="plug the car in at this time of day (default: plugged in from the start)",
    )
    group.add_argument(
        "--car-leaves", type=_clock, metavar="HH:MM", help="unplug the car at this time of day"
    )
    group.add_argument(
        "--car-phases", type=int, choices=(1, 3), default=3, help="phases the car charges on"
    )
    group.add_argument(
        "--car-max-current",
        type=float,
        default=16.0,
        metavar="A",
        help="the car's own max current per phase (default 16)",
    )
    group.add_argument(
        "--car-capacity", type=float, default=60.0, metavar="KWH", help="battery (default 60)"
    )
    group.add_argument(
        "--car-soc", type=float, default=30.0, metavar="PCT", help="initial SoC (default 30)"
    )
    group.add_argument(
        "--car-tag",
        default="04A1B2C3D4E5F6",
        metavar="TAG",
        help="RFID tag the car's driver presents ('none': no card)",
    )


def configure_from_args(device: SimDevice, args: argparse.Namespace) -> None:
    """Apply `add_cli_arguments` options to a device created by `AmtronDevice(model)`."""
    assert isinstance(device, AmtronDevice)
    tag: str = args.car_tag
    device.firmware = args.amtron_firmware
    device.glitches = args.amtron_glitches
    device.car = Car(
        CarConfig(
            phases=args.car_phases,
            max_current_a=args.car_max_current,
            capacity_kwh=args.car_capacity,
            soc_pct=args.car_soc,
            tag=None if tag.lower() == "none" else tag,
        )
    )
    device.car_arrives_s = args.car_arrives
    device.car_leaves_s = args.car_leaves
    if args.car_arrives is None and args.car_leaves is None:
        device.plug_in()
