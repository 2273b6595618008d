"""Binary sensors of every Solar Wallbox device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import EntityCategory, Platform

from . import amtron, dctr, e3dc
from .const import DeviceType
from .coordinator import SolarWallboxCoordinator
from .descriptions import BinarySensorDescription
from .entity import SolarWallboxEntity, add_entities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.device_registry import DeviceInfo
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .models import SolarWallboxConfigEntry

PARALLEL_UPDATES = 0

type Coordinator = SolarWallboxCoordinator[Any, Any]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the binary sensors of the entry's device."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    first = coordinator.data.data
    descriptions: tuple[BinarySensorDescription[Any], ...] = ()
    entities: list[BinarySensorEntity] = []
    match runtime.device_type:
        case DeviceType.E3DC:
            descriptions = e3dc.binary_sensor_descriptions(first)
        case DeviceType.DCTR:
            descriptions = dctr.binary_sensor_descriptions(first)
            entities.append(LinkBinarySensor(coordinator, runtime.device_info, "rcm_link"))
        case DeviceType.AMTRON:
            descriptions = amtron.binary_sensor_descriptions(coordinator.identity)
    entities.extend(DeviceBinarySensor(coordinator, runtime.device_info, d) for d in descriptions)
    add_entities(entry, Platform.BINARY_SENSOR, async_add_entities, entities)


class DeviceBinarySensor(SolarWallboxEntity[Coordinator], BinarySensorEntity):
    """A binary sensor computed from the latest poll."""

    entity_description: BinarySensorDescription[Any]

    def __init__(
        self,
        coordinator: Coordinator,
        device_info: DeviceInfo,
        description: BinarySensorDescription[Any],
    ) -> None:
        """Bind ``description`` to the device."""
        super().__init__(coordinator, device_info, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """Return the state from the latest poll."""
        return self.entity_description.value_fn(self.coordinator.data.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return extra attributes, if the description has any."""
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.coordinator.data.data)


class LinkBinarySensor(SolarWallboxEntity[Coordinator], BinarySensorEntity):
    """Whether the device answers: on while polls succeed, off (never unavailable) if not."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, coordinator: Coordinator, device_info: DeviceInfo, key: str) -> None:
        """Bind the link sensor to the device."""
        super().__init__(coordinator, device_info, key)
        self._attr_translation_key = key

    @property
    def available(self) -> bool:
        """Always available: "off" is the information."""
        return True

    @property
    def is_on(self) -> bool:
        """Return True while the last poll succeeded."""
        return self.coordinator.last_update_success
