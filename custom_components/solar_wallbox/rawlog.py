"""Raw measurement log of PAC2200 and DCTR entries (the original tool's ``--log-to``).

Format: exactly the original's, so its tools and our ``decompress_stream`` read both —
gzip (best compression) of NDJSON, one object per line with the original's field names and
order (``streamlog.PAC2200_FIELDS`` / ``RCM_FIELDS``), a zlib sync flush at every flush
interval. Files are ``<directory>/pac2200log-<unix>.json.gz`` and
``<directory>/rcmlog-<unix>.json.gz`` (the original named both ``pac2200log``); a new file
starts at every start of the entry and at the first sample of every local day. A clean
stop (unload, Home Assistant shutdown, new day) writes the gzip trailer; after a crash the
file ends at its last sync flush, so at most one flush interval is lost.

Kept from the original for compatibility: in PAC2200 lines ``p_avg`` is the total
*apparent* power (register 63) and ``pva_avg`` the total *active* power (register 65), the
original's swapped names. Improvements: a line is written only for a new successful reading
(at most one per sample interval; the original repeated the last value, also while the
meter did not answer), and ``update`` is when that reading was taken.

Writing happens in the executor: samples are buffered in memory and compressed, written and
synced in one job per flush interval. A write error (full disk, removed directory) stops
the log and raises a repair issue; polling goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import voluptuous as vol
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DEVICE_TYPE,
    CONF_RAWLOG,
    CONF_RAWLOG_DIRECTORY,
    CONF_RAWLOG_FLUSH_INTERVAL,
    CONF_RAWLOG_SAMPLE_INTERVAL,
    DEFAULT_RAWLOG_FLUSH_INTERVAL,
    DEFAULT_RAWLOG_SAMPLE_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_RAWLOG_INTERVAL,
    MIN_RAWLOG_FLUSH_INTERVAL,
    MIN_RAWLOG_SAMPLE_INTERVAL,
    DeviceType,
)
from .drivers.dctr import BANDS, DctrData, band_bit
from .drivers.pac2200 import Pac2200Data

if TYPE_CHECKING:
    from .coordinator import SolarWallboxCoordinator
    from .models import SolarWallboxConfigEntry

FILE_PREFIXES: Final[dict[DeviceType, str]] = {
    DeviceType.PAC2200: "pac2200log",
    DeviceType.DCTR: "rcmlog",
}
"""Device types with a raw log, and the prefix of their file names."""

PAC2200_LOG_FIELDS: Final[dict[str, str]] = {
    "u_l1": "voltage_l1_n",
    "u_l2": "voltage_l2_n",
    "u_l3": "voltage_l3_n",
    "u_l1l2": "voltage_l1_l2",
    "u_l2l3": "voltage_l2_l3",
    "u_l1l3": "voltage_l3_l1",
    "i_l1": "current_l1",
    "i_l2": "current_l2",
    "i_l3": "current_l3",
    "pva_l1": "apparent_power_l1",
    "pva_l2": "apparent_power_l2",
    "pva_l3": "apparent_power_l3",
    "p_l1": "active_power_l1",
    "p_l2": "active_power_l2",
    "p_l3": "active_power_l3",
    "pvar_l1": "reactive_power_l1",
    "pvar_l2": "reactive_power_l2",
    "pvar_l3": "reactive_power_l3",
    "pf_l1": "power_factor_l1",
    "pf_l2": "power_factor_l2",
    "pf_l3": "power_factor_l3",
    "frequency": "frequency",
    "u_avg_ln": "voltage_avg_ln",
    "u_avg_ll": "voltage_avg_ll",
    "i_avg": "current_avg",
    "p_avg": "apparent_power_total",  # sic: the original's name for register 63
    "pva_avg": "active_power_total",  # sic: the original's name for register 65
    "pvar_avg": "reactive_power_total",
    "pf_tot": "power_factor_total",
    "i_n": "current_neutral",
}
"""PAC2200 log field → ``Pac2200Data`` attribute, in the log's field order (``update``
first; the same order as ``streamlog.PAC2200_FIELDS``, which tests check)."""

ISSUE_RAWLOG_FAILED: Final = "rawlog_failed"

# gzip header as the original wrote it: deflate, no flags, mtime 0, best compression, OS unknown.
GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def pac2200_record(update: int, data: Pac2200Data) -> dict[str, Any]:
    """One PAC2200 log line as an object (field order of the original)."""
    record: dict[str, Any] = {"update": update}
    for field, attribute in PAC2200_LOG_FIELDS.items():
        record[field] = getattr(data, attribute)
    return record


def _bands(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(BANDS, values, strict=True))


def _flags(bitfield: int) -> dict[str, bool]:
    return {band: bool(bitfield & band_bit(band)) for band in BANDS}


def rcm_record(update: int, data: DctrData) -> dict[str, Any]:
    """One residual-current log line as an object (field order of the original)."""
    return {
        "update": update,
        "validity": data.validity,
        "f_i": _bands(data.residual_current),
        "raised_alarm_a": _flags(data.alarm_a_raw),
        "raised_alarm_b": _flags(data.alarm_b_raw),
        "thresholds_a": _bands(data.thresholds_a),
        "activated_alarms_a": _flags(data.enabled_a_raw),
        "thresholds_b": _bands(data.thresholds_b),
        "activated_alarms_b": _flags(data.enabled_b_raw),
        "alarm_delay": data.alarm_delay,
    }


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def encode_line(record: Mapping[str, Any]) -> bytes:
    """Compact JSON and a newline, like the original (non-finite numbers become null)."""
    clean = {key: _finite(value) for key, value in record.items()}
    return json.dumps(clean, separators=(",", ":"), allow_nan=False).encode() + b"\n"


@dataclass(frozen=True, slots=True)
class Sample:
    """One line to write: when it was measured, its local day and the reading."""

    update: int
    day: date
    data: Any


class GzipLogWriter:
    """Writes gzip NDJSON log files; not thread-safe: one job at a time (executor).

    Each file is one gzip member; :meth:`write` ends with a sync flush (readable up to
    there without trailer); :meth:`close` writes the trailer.
    """

    def __init__(self, directory: Path, prefix: str, encode: Callable[[Sample], bytes]) -> None:
        """Write ``<directory>/<prefix>-<unix>.json.gz`` files with lines from ``encode``."""
        self.directory = directory
        self.prefix = prefix
        self._encode = encode
        self.path: Path | None = None
        self.day: date | None = None
        self._file: IO[bytes] | None = None
        self._compressor: Any = None
        self._crc = 0
        self._size = 0

    def open(self, start: int, day: date) -> Path:
        """Start a new file named after ``start`` (unix seconds; the next free number)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        number = start
        while True:
            path = self.directory / f"{self.prefix}-{number}.json.gz"
            try:
                handle = path.open("xb")
            except FileExistsError:
                number += 1
                continue
            break
        self._file, self.path, self.day = handle, path, day
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        handle.write(GZIP_HEADER)
        handle.flush()
        return path

    def write(self, samples: Sequence[Sample]) -> None:
        """Append lines (a new file when the day changes), then sync flush to disk."""
        for sample in samples:
            if self._file is None or sample.day != self.day:
                self._finish()
                self.open(sample.update, sample.day)
            line = self._encode(sample)
            self._crc = zlib.crc32(line, self._crc)
            self._size += len(line)
            assert self._file is not None
            self._file.write(self._compressor.compress(line))
        self.sync()

    def sync(self) -> None:
        """Sync flush: everything written so far becomes readable and reaches the disk."""
        if self._file is None:
            return
        self._file.write(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()
        os.fsync(self._file.fileno())
        if os.fstat(self._file.fileno()).st_nlink == 0:
            raise FileNotFoundError(2, "the log file was removed", str(self.path))

    def close(self, samples: Sequence[Sample] = ()) -> None:
        """Write the last ``samples`` and finish the file with a proper gzip trailer."""
        if samples:
            self.write(samples)
        self._finish()

    def _finish(self) -> None:
        if self._file is None:
            return
        handle, self._file = self._file, None
        try:
            handle.write(self._compressor.flush(zlib.Z_FINISH))
            handle.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()

    def abandon(self) -> None:
        """Close the file without trailer after an error (errors ignored)."""
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()


@dataclass(frozen=True, slots=True)
class RawLogSettings:
    """The raw-log options of an entry."""

    enabled: bool
    directory: str
    sample_interval: int
    flush_interval: int

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RawLogSettings:
        """Read the options (missing ones: disabled, defaults)."""
        return cls(
            enabled=bool(options.get(CONF_RAWLOG, False)),
            directory=str(options.get(CONF_RAWLOG_DIRECTORY) or ""),
            sample_interval=max(
                MIN_RAWLOG_SAMPLE_INTERVAL,
                int(options.get(CONF_RAWLOG_SAMPLE_INTERVAL, DEFAULT_RAWLOG_SAMPLE_INTERVAL)),
            ),
            flush_interval=max(
                MIN_RAWLOG_FLUSH_INTERVAL,
                int(options.get(CONF_RAWLOG_FLUSH_INTERVAL, DEFAULT_RAWLOG_FLUSH_INTERVAL)),
            ),
        )


def _encoder(device_type: DeviceType) -> Callable[[Sample], bytes]:
    if device_type is DeviceType.PAC2200:
        return lambda s: encode_line(pac2200_record(s.update, s.data))
    return lambda s: encode_line(rcm_record(s.update, s.data))


def directory_problem(hass: HomeAssistant, directory: str) -> str | None:
    """Why ``directory`` cannot hold logs (None if it can). Blocking: run in the executor."""
    path = Path(directory)
    if not path.is_absolute() or ".." in path.parts:
        return "not an absolute path without '..'"
    if not hass.config.is_allowed_path(str(path)):
        return "not in allowlist_external_dirs"
    return None


class RawLogger:
    """Logs the readings of one PAC2200 or DCTR coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: SolarWallboxCoordinator[Any, Any],
        device_type: DeviceType,
        settings: RawLogSettings,
    ) -> None:
        """Log ``coordinator``'s readings as ``settings`` say; call :meth:`async_start`."""
        self.hass = hass
        self.coordinator = coordinator
        self.entry: SolarWallboxConfigEntry = coordinator.config_entry
        self.settings = settings
        self.writer = GzipLogWriter(
            Path(settings.directory), FILE_PREFIXES[device_type], _encoder(device_type)
        )
        self.running = False
        self.lines = 0
        self._pending: list[Sample] = []
        self._last_slot: int | None = None
        self._lock = asyncio.Lock()
        self._unsubscribe: list[CALLBACK_TYPE] = []

    @property
    def issue_id(self) -> str:
        """Repair issue of this entry's log."""
        return f"{ISSUE_RAWLOG_FAILED}_{self.entry.entry_id}"

    async def async_start(self) -> bool:
        """Open the first file and follow the coordinator; False (and an issue) on failure."""
        now = self.coordinator.clock()
        try:
            problem = await self.hass.async_add_executor_job(
                directory_problem, self.hass, self.settings.directory
            )
            if problem is not None:
                raise PermissionError(1, problem, self.settings.directory)
            path = await self.hass.async_add_executor_job(
                self.writer.open, int(now.timestamp()), dt_util.as_local(now).date()
            )
        except OSError as err:
            self._raise_issue(err)
            return False
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        LOGGER.info("%s: raw measurement log %s", self.entry.title, path)
        self.running = True
        self._unsubscribe = [
            self.coordinator.async_add_listener(self._handle_update),
            async_track_time_interval(
                self.hass,
                self._async_flush_tick,
                timedelta(seconds=self.settings.flush_interval),
                name=f"{DOMAIN} raw log {self.entry.title}",
                cancel_on_shutdown=True,
            ),
            self.hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_stop),
        ]
        self._handle_update()
        return True

    @callback
    def _handle_update(self) -> None:
        """Queue a new successful reading (at most one per sample interval)."""
        coordinator = self.coordinator
        reading = coordinator.data
        if not self.running or not coordinator.last_update_success or reading is None:
            return
        update = int(reading.measured_at.timestamp())
        slot = update // self.settings.sample_interval
        if slot == self._last_slot:
            return
        self._last_slot = slot
        day = dt_util.as_local(reading.measured_at).date()
        self._pending.append(Sample(update, day, reading.data))

    async def _async_flush_tick(self, now: datetime) -> None:
        await self.async_flush()

    async def async_flush(self) -> None:
        """Write the queued lines and sync flush (in the executor)."""
        async with self._lock:
            if not self.running or not self._pending:
                return
            samples, self._pending = self._pending, []
            try:
                await self.hass.async_add_executor_job(self.writer.write, samples)
            except OSError as err:
                await self._async_fail(err)
                return
            self.lines += len(samples)

    async def _async_on_stop(self, event: Event) -> None:
        await self.async_stop()

    async def async_stop(self) -> None:
        """Write the queued lines and the gzip trailer; stop following the coordinator."""
        async with self._lock:
            if not self.running:
                return
            self._stop_listening()
            samples, self._pending = self._pending, []
            try:
                await self.hass.async_add_executor_job(self.writer.close, samples)
            except OSError as err:
                await self._async_fail(err)
                return
            self.lines += len(samples)
            LOGGER.debug("%s: raw measurement log closed", self.entry.title)

    def _stop_listening(self) -> None:
        self.running = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    async def _async_fail(self, err: OSError) -> None:
        """Stop logging for good (until the entry is set up again) and raise an issue."""
        if self.running:
            self._stop_listening()
        self._pending = []
        await self.hass.async_add_executor_job(self.writer.abandon)
        self._raise_issue(err)

    def _raise_issue(self, err: OSError) -> None:
        reason = err.strerror or str(err)
        LOGGER.error(
            "%s: raw measurement log in %s stopped: %s",
            self.entry.title,
            self.settings.directory,
            reason,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_RAWLOG_FAILED,
            translation_placeholders={
                "title": self.entry.title,
                "directory": self.settings.directory,
                "error": reason,
            },
        )


async def async_start_rawlog(
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    coordinator: SolarWallboxCoordinator[Any, Any],
) -> RawLogger | None:
    """Start the entry's raw log if it has one and it is enabled."""
    device_type = DeviceType(entry.data[CONF_DEVICE_TYPE])
    settings = RawLogSettings.from_options(entry.options)
    if device_type not in FILE_PREFIXES or not settings.enabled:
        ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_RAWLOG_FAILED}_{entry.entry_id}")
        return None
    logger = RawLogger(hass, coordinator, device_type, settings)
    if not await logger.async_start():
        return None
    return logger


# --- options flow ---------------------------------------------------------------------

RAWLOG_OPTIONS: Final = (
    CONF_RAWLOG,
    CONF_RAWLOG_DIRECTORY,
    CONF_RAWLOG_SAMPLE_INTERVAL,
    CONF_RAWLOG_FLUSH_INTERVAL,
)


def _seconds(low: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low,
            max=MAX_RAWLOG_INTERVAL,
            step=1,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="s",
        )
    )


def suggested_directory(hass: HomeAssistant) -> str | None:
    """A default log directory: ``solar_wallbox`` in the first media directory."""
    for media in hass.config.media_dirs.values():
        return str(Path(media) / DOMAIN)
    return None


def option_fields(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[Any, Any]:
    """The raw-log fields of the device options form, filled from ``values``."""
    settings = RawLogSettings.from_options(values)
    directory = settings.directory or suggested_directory(hass)
    return {
        vol.Required(CONF_RAWLOG, default=settings.enabled): BooleanSelector(),
        vol.Optional(
            CONF_RAWLOG_DIRECTORY, description={"suggested_value": directory}
        ): TextSelector(),
        vol.Required(CONF_RAWLOG_SAMPLE_INTERVAL, default=settings.sample_interval): _seconds(
            MIN_RAWLOG_SAMPLE_INTERVAL
        ),
        vol.Required(CONF_RAWLOG_FLUSH_INTERVAL, default=settings.flush_interval): _seconds(
            MIN_RAWLOG_FLUSH_INTERVAL
        ),
    }


async def async_validate_options(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The raw-log options from a submitted form, and the form errors."""
    errors: dict[str, str] = {}
    directory = str(user_input.get(CONF_RAWLOG_DIRECTORY) or "").strip()
    options: dict[str, Any] = {
        CONF_RAWLOG: bool(user_input.get(CONF_RAWLOG, False)),
        CONF_RAWLOG_DIRECTORY: directory,
        CONF_RAWLOG_SAMPLE_INTERVAL: int(
            user_input.get(CONF_RAWLOG_SAMPLE_INTERVAL, DEFAULT_RAWLOG_SAMPLE_INTERVAL)
        ),
        CONF_RAWLOG_FLUSH_INTERVAL: int(
            user_input.get(CONF_RAWLOG_FLUSH_INTERVAL, DEFAULT_RAWLOG_FLUSH_INTERVAL)
        ),
    }
    if options[CONF_RAWLOG]:
        if not directory:
            errors[CONF_RAWLOG_DIRECTORY] = "directory_required"
        elif await hass.async_add_executor_job(directory_problem, hass, directory):
            errors[CONF_RAWLOG_DIRECTORY] = "directory_not_allowed"
    return options, errors
