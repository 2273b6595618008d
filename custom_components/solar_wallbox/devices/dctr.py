"""Doepke DCTR residual current monitor: device info, descriptions, the monitor role.

The register map comes from the original tool (no public Doepke documentation); residual
currents are assumed to be in mA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import EntityCategory, Platform, UnitOfElectricCurrent
from homeassistant.helpers.device_registry import DeviceInfo

from ..binary_sensor import DeviceBinarySensor, LinkBinarySensor
from ..const import DEFAULT_UNIT_ID, DOMAIN, DeviceType
from ..descriptions import BinarySensorDescription, SensorDescription
from ..drivers.dctr import BANDS, DctrClient, DctrData, DctrIdentity
from ..drivers.dctr_bands import BAND_LABELS
from ..rcm import RcmMonitor
from ..sensor import DeviceSensor
from .spec import DeviceSpec

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity

    from ..models import DeviceRuntime, SolarWallboxConfigEntry

    type DctrRuntime = DeviceRuntime[DctrClient, DctrIdentity, DctrData]

type DctrSensor = SensorDescription[DctrData]


def device_info(unique_id: str, identity: DctrIdentity) -> DeviceInfo:
    """Describe the monitor for the device registry."""
    return DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer="Doepke",
        model="DCTR B-X Hz",
        name="Doepke DCTR",
    )


def _band_sensor(
    band: str,
    index: int,
    *,
    kind: str,
    values: Callable[[DctrData], tuple[int, ...]],
    diagnostic: bool,
) -> DctrSensor:
    return SensorDescription(
        key=f"{kind}_{band}",
        translation_key=kind,
        translation_placeholders={"band": BAND_LABELS[band]},
        native_unit_of_measurement=UnitOfElectricCurrent.MILLIAMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=None if diagnostic else SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC if diagnostic else None,
        entity_registry_enabled_default=not diagnostic,
        value_fn=lambda d: values(d)[index],
    )


SENSORS: tuple[DctrSensor, ...] = (
    *(
        _band_sensor(
            band, i, kind="residual_current", values=lambda d: d.residual_current, diagnostic=False
        )
        for i, band in enumerate(BANDS)
    ),
    *(
        _band_sensor(
            band, i, kind="alarm_a_threshold", values=lambda d: d.thresholds_a, diagnostic=True
        )
        for i, band in enumerate(BANDS)
    ),
    *(
        _band_sensor(
            band, i, kind="alarm_b_threshold", values=lambda d: d.thresholds_b, diagnostic=True
        )
        for i, band in enumerate(BANDS)
    ),
    SensorDescription(
        key="alarm_delay",
        translation_key="alarm_delay",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda d: d.alarm_delay,
    ),
)


def _alarm_attrs(
    bands: Callable[[DctrData], tuple[str, ...]], enabled: Callable[[DctrData], tuple[str, ...]]
) -> Callable[[DctrData], dict[str, Any]]:
    def attrs(data: DctrData) -> dict[str, Any]:
        return {"bands": list(bands(data)), "enabled_bands": list(enabled(data))}

    return attrs


BINARY_SENSORS: tuple[BinarySensorDescription[DctrData], ...] = (
    BinarySensorDescription(
        key="alarm_a",
        translation_key="rcm_alarm_a",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: d.alarm_a,
        attrs_fn=_alarm_attrs(lambda d: d.alarm_a_bands, lambda d: d.enabled_a_bands),
    ),
    BinarySensorDescription(
        key="alarm_b",
        translation_key="rcm_alarm_b",
        device_class=BinarySensorDeviceClass.PROBLEM,
        value_fn=lambda d: d.alarm_b,
        attrs_fn=_alarm_attrs(lambda d: d.alarm_b_bands, lambda d: d.enabled_b_bands),
    ),
)


def sensor_descriptions(data: DctrData) -> tuple[DctrSensor, ...]:
    """Every sensor of a DCTR."""
    return SENSORS


def binary_sensor_descriptions(data: DctrData) -> tuple[BinarySensorDescription[DctrData], ...]:
    """Every binary sensor of a DCTR computed from a poll (the link sensor is not)."""
    return BINARY_SENSORS


def _sensors(device: DctrRuntime) -> Iterable[Entity]:
    for description in sensor_descriptions(device.coordinator.data.data):
        yield DeviceSensor(device.coordinator, device.device_info, description)


def _binary_sensors(device: DctrRuntime) -> Iterable[Entity]:
    yield LinkBinarySensor(device.coordinator, device.device_info, "rcm_link")
    for description in binary_sensor_descriptions(device.coordinator.data.data):
        yield DeviceBinarySensor(device.coordinator, device.device_info, description)


def _start_monitor(
    hass: HomeAssistant, entry: SolarWallboxConfigEntry, device: DctrRuntime
) -> None:
    """After the platforms: the device exists, so the monitor's events carry its id."""
    device.rcm = RcmMonitor(hass, device.coordinator)
    device.rcm.start()


SPEC = DeviceSpec[DctrClient, DctrIdentity, DctrData](
    device_type=DeviceType.DCTR,
    default_unit_id=DEFAULT_UNIT_ID,
    client=DctrClient,
    identity_id=lambda identity: None,  # no serial number over Modbus
    title=lambda identity: "Doepke DCTR",
    device_info=device_info,
    entities={Platform.BINARY_SENSOR: _binary_sensors, Platform.SENSOR: _sensors},
    residual_current_monitor=True,
    started=_start_monitor,
)
