"""Raw measurement log of PAC2200 and DCTR entries (the original tool's ``--log-to``).

Format: exactly the original's, so its tools and our ``decompress_stream`` read both —
gzip (best compression) of NDJSON, one object per line with the original's field names and
order, a zlib sync flush at every flush interval (:mod:`.logformat` defines the format,
:mod:`.logwriter` writes the files). Files are ``<directory>/pac2200log-<unix>.json.gz``
and ``<directory>/rcmlog-<unix>.json.gz`` (the original named both ``pac2200log``); a new
file starts at every start of the entry and at the first sample of every local day. A clean
stop (unload, Home Assistant shutdown, new day) writes the gzip trailer; after a crash the
file ends at its last sync flush, so at most one flush interval is lost.

Kept from the original for compatibility: in PAC2200 lines ``p_avg`` is the total
*apparent* power (register 63) and ``pva_avg`` the total *active* power (register 65), the
original's swapped names. Improvements: a line is written only for a new successful reading
(at most one per sample interval; the original repeated the last value, also while the
meter did not answer), and ``update`` is when that reading was taken.

Writing happens in the executor: samples are buffered in memory and compressed, written and
synced in one job per flush interval. A write error (full disk, removed directory) stops
the log and raises a repair issue; polling goes on. The options form: :mod:`.rawlog_options`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
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
    MIN_RAWLOG_FLUSH_INTERVAL,
    MIN_RAWLOG_SAMPLE_INTERVAL,
    DeviceType,
)
from .logwriter import FILE_PREFIXES, GzipLogWriter, Sample, encoder

if TYPE_CHECKING:
    from .coordinator import SolarWallboxCoordinator
    from .models import SolarWallboxConfigEntry

ISSUE_RAWLOG_FAILED: Final = "rawlog_failed"


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
            Path(settings.directory), FILE_PREFIXES[device_type], encoder(device_type)
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
