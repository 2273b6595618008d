"""compat.py: both sides of each feature detection.

The newer APIs (Home Assistant 2026.8) exist in no harness this machine can run, so small
stand-ins with the 2026.8 shape take their place here; that their names and signatures
match the newest release is checked by scripts/check-ha-api.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.compat import device_by_identifier, device_entry_ids
from custom_components.solar_wallbox.const import DOMAIN


class RegistryOf2026_8:  # noqa: N801  (named after the release)
    """The lookup of 2026.8: by identifier and owning entry."""

    def __init__(self) -> None:
        self.asked: list[tuple[tuple[str, str], str]] = []

    def async_get_device_by_identifier(self, identifier: tuple[str, str], entry_id: str) -> Any:
        self.asked.append((identifier, entry_id))
        return "the device"

    def async_get_device(self, **kwargs: Any) -> Any:  # deprecated there: must not be used
        raise AssertionError("async_get_device used although the new lookup exists")


class DeviceOf2026_8:  # noqa: N801
    config_entry_id = "entry-1"

    @property
    def config_entries(self) -> set[str]:  # deprecated there: must not be used
        raise AssertionError("config_entries used although config_entry_id exists")


def test_the_2026_8_apis_are_used_where_they_exist() -> None:
    registry = RegistryOf2026_8()
    assert device_by_identifier(registry, (DOMAIN, "x"), "entry-1") == "the device"  # type: ignore[arg-type]
    assert registry.asked == [((DOMAIN, "x"), "entry-1")]
    assert device_entry_ids(DeviceOf2026_8()) == {"entry-1"}  # type: ignore[arg-type]


async def test_the_older_apis_on_this_release(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    device = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "serial")}
    )
    assert device_by_identifier(registry, (DOMAIN, "serial"), entry.entry_id) == device
    assert device_entry_ids(device) == {entry.entry_id}
