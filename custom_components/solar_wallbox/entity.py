"""What every platform shares: its setup and the base entity of a polled device."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SolarWallboxCoordinator
from .drivers.amtron import InvalidSetting, InvalidTimeout
from .drivers.modbus import ModbusError

if TYPE_CHECKING:
    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry


type PlatformSetup = Callable[
    [HomeAssistant, SolarWallboxConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


def platform_setup(platform: Platform) -> PlatformSetup:
    """A platform's ``async_setup_entry``: the entities the entry's device spec describes."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: SolarWallboxConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        entities = list(entry.runtime_data.entities(platform))
        # Remembered for the stale entity cleanup after setup (lifecycle.py).
        entry.runtime_data.created[platform] = {e.unique_id for e in entities if e.unique_id}
        async_add_entities(entities)

    async_setup_entry.__doc__ = f"Create the {platform} entities of the entry's device."
    return async_setup_entry


class SolarWallboxEntity[CoordinatorT: SolarWallboxCoordinator[Any, Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity of one device, named by translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, device_info: DeviceInfo, key: str) -> None:
        """Attach the entity to the entry's device; ``key`` makes the unique id."""
        super().__init__(coordinator)
        self._attr_device_info = device_info
        self._attr_unique_id = f"{coordinator.config_entry.unique_id}_{key}"


def writes_to_device[EntityT: SolarWallboxEntity[Any], **P](
    write: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Run an entity's write to its device; errors become translated Home Assistant errors.

    A value the driver refuses (nothing was sent) is the user's mistake, shown with the
    allowed range; a failed request is an error of the device. Either way the device is
    read again afterwards, so the entity shows what it holds now, also after a failed or
    partial write.
    """

    @functools.wraps(write)
    async def wrapper(entity: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await write(entity, *args, **kwargs)
        except InvalidSetting as err:
            key = "invalid_timeout" if isinstance(err, InvalidTimeout) else "invalid_current"
            if key == "invalid_current" and err.minimum > err.maximum:
                key = "invalid_current_pause_only"
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={
                    "value": str(err.value),
                    "minimum": str(err.minimum),
                    "maximum": str(err.maximum),
                },
            ) from err
        except ModbusError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        finally:
            await entity.coordinator.async_refresh()

    return wrapper
