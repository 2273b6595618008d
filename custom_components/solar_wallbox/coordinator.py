"""Data update coordinators: one per config entry, each polling one device."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER
from .drivers.modbus import (
    GATEWAY_EXCEPTION_CODES,
    CannotConnect,
    ModbusConnection,
    ModbusError,
    ModbusExceptionResponse,
    RequestTimeout,
    WrongDevice,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .models import SolarWallboxConfigEntry


IDENTIFY_RETRY_DELAY = 1.0


class DeviceClient[IdentityT, DataT](Protocol):
    """What a device driver offers the coordinator."""

    connection: ModbusConnection

    async def identify(self) -> IdentityT:
        """Read what the device says about itself."""

    async def read(self) -> DataT:
        """Read one snapshot of the device."""


@dataclass(frozen=True, slots=True)
class Reading[DataT]:
    """One poll result and when it was taken."""

    data: DataT
    measured_at: datetime


def error_translation_key(err: ModbusError) -> str:
    """Map a driver error to the translation key shown to users."""
    if isinstance(err, RequestTimeout):
        return "timeout"
    if isinstance(err, CannotConnect):
        return "cannot_connect"
    if isinstance(err, ModbusExceptionResponse):
        return "gateway_error" if err.code in GATEWAY_EXCEPTION_CODES else "modbus_exception"
    if isinstance(err, WrongDevice):
        return "wrong_device"
    return "invalid_response"


class SolarWallboxCoordinator[IdentityT, DataT](DataUpdateCoordinator[Reading[DataT]]):
    """Polls one device; identifies it once before the first poll."""

    config_entry: SolarWallboxConfigEntry
    identity: IdentityT

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SolarWallboxConfigEntry,
        client: DeviceClient[IdentityT, DataT],
    ) -> None:
        """Poll ``client`` at the entry's scan interval."""
        scan_interval = int(entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL))
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=scan_interval),
        )
        self.client = client
        # Source of reading timestamps; tests replace it to simulate hours of polling.
        self.clock: Callable[[], datetime] = dt_util.utcnow

    @property
    def scan_interval(self) -> float:
        """Poll interval in seconds."""
        assert self.update_interval is not None
        return self.update_interval.total_seconds()

    async def _async_setup(self) -> None:
        """Identify the device once; a different device at the address stops the entry."""
        try:
            try:
                self.identity = await self.client.identify()
            except CannotConnect:
                # After a reload the device may still hold our previous connection for a
                # moment (the wallbox accepts only one): try once more before giving up.
                await asyncio.sleep(IDENTIFY_RETRY_DELAY)
                self.identity = await self.client.identify()
        except WrongDevice as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="wrong_device",
                translation_placeholders={"error": str(err)},
            ) from err
        except ModbusError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=error_translation_key(err),
                translation_placeholders={"error": str(err)},
            ) from err

    async def _async_update_data(self) -> Reading[DataT]:
        try:
            data = await self.client.read()
        except (ModbusError, ValueError) as err:
            key = error_translation_key(err) if isinstance(err, ModbusError) else "invalid_response"
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={"error": str(err)},
            ) from err
        return Reading(data=data, measured_at=self.clock())

    def diagnostics(self) -> dict[str, Any]:
        """Transport counters and poll state for the diagnostics download."""
        return {
            "scan_interval": self.scan_interval,
            "last_update_success": self.last_update_success,
            "last_exception": repr(self.last_exception) if self.last_exception else None,
            "transport": self.client.connection.stats.as_dict(),
            "connected": self.client.connection.connected,
        }
