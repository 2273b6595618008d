"""Doepke DCTR B-X Hz residual current monitor over a `SiteModel` (docs/devices.md §4).

Register image (PDU addresses 0..35, u16; the only known map, from the original tool):

    0 validity · 1..8 residual current per band (mA) · 9 alarm A raised · 10 alarm B raised
    11..15 unknown (0) · 16..23 thresholds A · 24 alarm A enabled bands
    25..32 thresholds B · 33 alarm B enabled bands · 34 alarm delay · 35 unknown (0)

Bands in register order: `BANDS`. Bitfields: bit i ↔ ``BANDS[7 - i]`` (bit 7 DC … bit 0
AC > 10 kHz); bits 8–15 are never set.

Residual currents grow with the charging power of the wallbox (``model.loads["wallbox"]``,
one number or a per-phase triple; absent = 0 W): ``base + slope × kW`` per band
(`BASE_MA`, `SLOPE_MA_PER_KW`) plus uniform noise of ±`noise_ma`, rounded to whole mA and
never negative. The noise is a function of `seed` and the model's whole elapsed second, so
two reads at the same model time agree.

Alarms: a band raises alarm A (B) while it is enabled in `enabled_a` (`enabled_b`) and its
current is at least its threshold in `thresholds_a` (`thresholds_b`). Not latched: the bit
clears as soon as the current falls below the threshold. `alarm_delay` is only reported
(its unit is unknown), it does not delay the simulated alarm.

Scripting: `schedule_episode(start_s, duration_s, band, level_ma)` raises one band to at
least `level_ma` from `start_s` to `start_s + duration_s` in model elapsed seconds
(`model.elapsed_s`); `force_alarm(band, level_ma)` holds a band at that level until
`clear()`, which also drops every scheduled episode. `overrides` (address → word) replaces
registers after everything else, e.g. ``{0: 0xFFFF}`` for an implausible image. Reads
outside 0..35 and all writes answer exception 02.
"""

import argparse
import random
from dataclasses import dataclass

from . import loads
from .modbus_server import ExceptionCode, ModbusDeviceError, RegisterImage, SimDevice
from .model import DAY_S, SiteModel

BANDS: tuple[str, ...] = (
    "dc",
    "ac_total",
    "ac_50hz",
    "ac_lt100hz",
    "ac_150hz",
    "ac_100hz_1khz",
    "ac_gt1khz",
    "ac_gt10khz",
)
REGISTER_COUNT = 36
VALIDITY = 0
CURRENTS = 1
ALARM_A = 9
ALARM_B = 10
THRESHOLDS_A = 16
ENABLED_A = 24
THRESHOLDS_B = 25
ENABLED_B = 33
ALARM_DELAY = 34

ALL_BANDS = 0x00FF

BASE_MA: dict[str, float] = {
    "dc": 0.3,
    "ac_total": 1.5,
    "ac_50hz": 1.0,
    "ac_lt100hz": 0.2,
    "ac_150hz": 0.1,
    "ac_100hz_1khz": 0.2,
    "ac_gt1khz": 0.1,
    "ac_gt10khz": 0.1,
}
"""Residual current per band without charging (mA)."""
SLOPE_MA_PER_KW: dict[str, float] = {
    "dc": 0.15,
    "ac_total": 0.6,
    "ac_50hz": 0.3,
    "ac_lt100hz": 0.05,
    "ac_150hz": 0.08,
    "ac_100hz_1khz": 0.12,
    "ac_gt1khz": 0.15,
    "ac_gt10khz": 0.1,
}
"""Increase per kW of charging power (mA); 11 kW gives about 8 mA AC total, 2 mA DC."""


def band_bit(band: str) -> int:
    """Bitfield mask of a band (ValueError for an unknown band)."""
    return 1 << (len(BANDS) - 1 - BANDS.index(band))


@dataclass(frozen=True)
class Episode:
    """A band held at (at least) `level_ma` during [start_s, end_s) of model elapsed time."""

    start_s: float
    end_s: float
    band: str
    level_ma: int


class DctrDevice:
    """DCTR register image computed from the model on every read."""

    unit_ids: frozenset[int] | None

    def __init__(
        self, model: SiteModel, *, seed: int = 0, unit_ids: frozenset[int] | None = None
    ) -> None:
        """Describe the device; all attributes may be changed at runtime."""
        self.model = model
        self.seed = seed
        self.unit_ids = unit_ids
        self.validity = 1
        self.noise_ma = 0.5
        self.thresholds_a: list[int] = [6, 30, 30, 30, 30, 30, 30, 30]
        """Alarm A thresholds in `BANDS` order (mA): DC 6 mA, AC 30 mA."""
        self.thresholds_b: list[int] = [20, 100, 100, 100, 100, 100, 100, 100]
        """Alarm B thresholds in `BANDS` order (mA)."""
        self.enabled_a = ALL_BANDS
        self.enabled_b = band_bit("dc") | band_bit("ac_total")
        self.alarm_delay = 10
        self.overrides: dict[int, int] = {}
        """Register address → word, applied last."""
        self.episodes: list[Episode] = []
        self.forced: dict[str, int] = {}
        """Band → level held by `force_alarm` until `clear`."""

    # Scripting ------------------------------------------------------------------------

    def schedule_episode(
        self, start_s: float, duration_s: float, band: str = "dc", level_ma: int = 40
    ) -> Episode:
        """Hold ``band`` at ≥ ``level_ma`` from model elapsed ``start_s`` for ``duration_s``."""
        if band not in BANDS:
            raise ValueError(f"unknown band {band!r}; known: {', '.join(BANDS)}")
        if duration_s <= 0:
            raise ValueError("duration_s must be positive")
        episode = Episode(start_s, start_s + duration_s, band, int(level_ma))
        self.episodes.append(episode)
        return episode

    def force_alarm(self, band: str, level_ma: int) -> None:
        """Hold ``band`` at ``level_ma`` until `clear`."""
        if band not in BANDS:
            raise ValueError(f"unknown band {band!r}; known: {', '.join(BANDS)}")
        self.forced[band] = int(level_ma)

    def clear(self) -> None:
        """Drop forced levels and scheduled episodes: back to the model-driven currents."""
        self.forced.clear()
        self.episodes.clear()

    # Register image -------------------------------------------------------------------

    @property
    def wallbox_w(self) -> float:
        """Charging power of the wallbox load in the model (0 without one)."""
        load = self.model.loads.get("wallbox")
        if load is None:
            return 0.0
        if isinstance(load, tuple):
            return sum(abs(float(p)) for p in load)
        return abs(float(load))

    def currents_ma(self) -> list[int]:
        """Residual current per band (`BANDS` order) at the model's current time."""
        kw = self.wallbox_w / 1000.0
        elapsed = self.model.elapsed_s
        rng = random.Random(f"dctr:{self.seed}:{int(elapsed)}")
        currents: list[int] = []
        for band in BANDS:
            level = BASE_MA[band] + SLOPE_MA_PER_KW[band] * kw
            level += rng.uniform(-self.noise_ma, self.noise_ma) if self.noise_ma > 0 else 0.0
            value = max(0, round(level))
            for episode in self.episodes:
                if episode.band == band and episode.start_s <= elapsed < episode.end_s:
                    value = max(value, episode.level_ma)
            if band in self.forced:
                value = self.forced[band]
            currents.append(min(value, 0xFFFF))
        return currents

    def alarm_bits(self, currents: list[int], thresholds: list[int], enabled: int) -> int:
        """Bitfield of the enabled bands whose current reaches the threshold."""
        bits = 0
        for band, current, threshold in zip(BANDS, currents, thresholds, strict=True):
            mask = band_bit(band)
            if enabled & mask and current >= threshold:
                bits |= mask
        return bits

    def registers(self) -> list[int]:
        """The full image, index = address 0..35."""
        currents = self.currents_ma()
        image = [0] * REGISTER_COUNT
        image[VALIDITY] = self.validity & 0xFFFF
        image[CURRENTS : CURRENTS + 8] = currents
        image[ALARM_A] = self.alarm_bits(currents, self.thresholds_a, self.enabled_a)
        image[ALARM_B] = self.alarm_bits(currents, self.thresholds_b, self.enabled_b)
        image[THRESHOLDS_A : THRESHOLDS_A + 8] = [t & 0xFFFF for t in self.thresholds_a]
        image[ENABLED_A] = self.enabled_a & ALL_BANDS
        image[THRESHOLDS_B : THRESHOLDS_B + 8] = [t & 0xFFFF for t in self.thresholds_b]
        image[ENABLED_B] = self.enabled_b & ALL_BANDS
        image[ALARM_DELAY] = self.alarm_delay & 0xFFFF
        for address, value in self.overrides.items():
            image[address] = value & 0xFFFF
        return image

    def read_registers(self, address: int, count: int) -> list[int]:
        """Slice of the image; exception 02 outside 0..35."""
        if address + count > REGISTER_COUNT:
            raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        return self.registers()[address : address + count]

    def write_registers(self, address: int, values: list[int]) -> None:
        """Refuse: the simulated monitor is read-only."""
        raise ModbusDeviceError(ExceptionCode.ILLEGAL_DATA_ADDRESS)

    def snapshot(self) -> RegisterImage:
        """The current image as a fixed, read-only register map."""
        return RegisterImage(dict(enumerate(self.registers())), unit_ids=self.unit_ids)


# Command line (``python -m simulator``) --------------------------------------------

EPISODE_DEFAULT_S = 120.0
"""Simulated duration of an ``--rcm-episode`` without ``+SECONDS``."""
EPISODE_LEVEL_MA = 40
"""DC residual current of an ``--rcm-episode``: above both alarm thresholds (6 / 20 mA)."""


def parse_episode(text: str) -> tuple[float, float]:
    """Parse ``HH:MM[+SECONDS]`` into (time of day in s, duration in simulated s)."""
    return loads.parse_episode(text, EPISODE_DEFAULT_S)


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the residual current monitor."""
    group = parser.add_argument_group("Doepke DCTR residual current monitor")
    group.add_argument(
        "--rcm-episode",
        type=parse_episode,
        action="append",
        default=[],
        metavar="HH:MM[+SECONDS]",
        help=(
            f"raise a DC residual current of {EPISODE_LEVEL_MA} mA (alarms A and B) at this "
            f"time of day for SECONDS simulated seconds (default {EPISODE_DEFAULT_S:.0f}); "
            "may be repeated"
        ),
    )


def configure_from_args(device: SimDevice, args: argparse.Namespace) -> None:
    """Apply `add_cli_arguments` options to a device created by `DctrDevice(model)`."""
    assert isinstance(device, DctrDevice)
    episodes: list[tuple[float, float]] = args.rcm_episode
    model = device.model
    for clock_s, duration_s in episodes:
        start = model.elapsed_s + (clock_s - model.t_s) % DAY_S
        device.schedule_episode(start, duration_s, "dc", EPISODE_LEVEL_MA)
