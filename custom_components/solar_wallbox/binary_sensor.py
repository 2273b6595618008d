"""Binary sensors of every Solar Wallbox device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import EntityCategory, Platform

from .coordinator import SolarWallboxCoordinator
from .descriptions import BinarySensorDescription
from .entity import SolarWallboxEntity, platform_setup

if TYPE_CHECKING:
    from homeassistant.helpers.device_registry import DeviceInfo


PARALLEL_UPDATES = 0

type Coordinator = SolarWallboxCoordinator[Any, Any]


async_setup_entry = platform_setup(Platform.BINARY_SENSOR)


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
