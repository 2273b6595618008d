"""Siemens PAC2200: device info, entity descriptions and its role (grid meter).

Sign convention of the meter (at the grid connection): active power + import, − export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import StateType

from ..const import DEFAULT_UNIT_ID, DOMAIN, DeviceType
from ..descriptions import SensorDescription
from ..drivers.pac2200 import Pac2200Client, Pac2200Data, Pac2200Identity
from ..sensor import DeviceSensor
from .spec import DeviceSpec

if TYPE_CHECKING:
    from homeassistant.helpers.entity import Entity

    from ..models import DeviceRuntime

    type Pac2200Runtime = DeviceRuntime[Pac2200Client, Pac2200Identity, Pac2200Data]

type Pac2200Sensor = SensorDescription[Pac2200Data]


def device_info(unique_id: str, identity: Pac2200Identity) -> DeviceInfo:
    """Describe the meter for the device registry."""
    return DeviceInfo(
        identifiers={(DOMAIN, unique_id)},
        manufacturer=identity.vendor or "Siemens",
        model=identity.product or "SENTRON PAC2200",
        name="PAC2200",
        serial_number=identity.serial or None,
        sw_version=identity.firmware or None,
    )


def _measurement(
    key: str,
    value_fn: Callable[[Pac2200Data], StateType],
    *,
    translation_key: str,
    phase: str | None = None,
    unit: str | None,
    device_class: SensorDeviceClass | None,
    precision: int,
    enabled: bool = True,
) -> Pac2200Sensor:
    return SensorDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders={"phase": phase} if phase else None,
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        value_fn=value_fn,
    )


def _phase_sensors(
    attribute: str,
    labels: tuple[str, str, str],
    *,
    translation_key: str,
    unit: str | None,
    device_class: SensorDeviceClass | None,
    precision: int,
    enabled: bool,
) -> tuple[Pac2200Sensor, ...]:
    """One sensor per phase for ``<attribute>_<suffix>`` (suffixes from the labels)."""
    return tuple(
        _measurement(
            f"{attribute}_{suffix}",
            _getter(f"{attribute}_{suffix}"),
            translation_key=translation_key,
            phase=label,
            unit=unit,
            device_class=device_class,
            precision=precision,
            enabled=enabled,
        )
        for suffix, label in zip(_suffixes(labels), labels, strict=True)
    )


def _suffixes(labels: tuple[str, str, str]) -> tuple[str, ...]:
    return tuple(label.lower().replace("-n", "_n").replace("-", "_") for label in labels)


def _getter(attribute: str) -> Callable[[Pac2200Data], float | None]:
    def value(data: Pac2200Data) -> float | None:
        result: float | None = getattr(data, attribute)
        return result

    return value


PHASES = ("L1", "L2", "L3")
V = UnitOfElectricPotential.VOLT
A = UnitOfElectricCurrent.AMPERE

SENSORS: tuple[Pac2200Sensor, ...] = (
    *_phase_sensors(
        "voltage",
        ("L1-N", "L2-N", "L3-N"),
        translation_key="phase_voltage",
        unit=V,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=1,
        enabled=True,
    ),
    *_phase_sensors(
        "voltage",
        ("L1-L2", "L2-L3", "L3-L1"),
        translation_key="phase_voltage",
        unit=V,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=1,
        enabled=False,
    ),
    *_phase_sensors(
        "current",
        PHASES,
        translation_key="phase_current",
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        precision=2,
        enabled=True,
    ),
    *_phase_sensors(
        "active_power",
        PHASES,
        translation_key="phase_active_power",
        unit=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        precision=0,
        enabled=True,
    ),
    *_phase_sensors(
        "apparent_power",
        PHASES,
        translation_key="phase_apparent_power",
        unit=UnitOfApparentPower.VOLT_AMPERE,
        device_class=SensorDeviceClass.APPARENT_POWER,
        precision=0,
        enabled=False,
    ),
    *_phase_sensors(
        "reactive_power",
        PHASES,
        translation_key="phase_reactive_power",
        unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        device_class=SensorDeviceClass.REACTIVE_POWER,
        precision=0,
        enabled=False,
    ),
    *_phase_sensors(
        "power_factor",
        PHASES,
        translation_key="phase_power_factor",
        unit=None,
        device_class=SensorDeviceClass.POWER_FACTOR,
        precision=2,
        enabled=False,
    ),
    _measurement(
        "current_neutral",
        lambda d: d.current_neutral,
        translation_key="current_neutral",
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        precision=2,
        enabled=False,
    ),
    _measurement(
        "frequency",
        lambda d: d.frequency,
        translation_key="frequency",
        unit=UnitOfFrequency.HERTZ,
        device_class=SensorDeviceClass.FREQUENCY,
        precision=2,
    ),
    _measurement(
        "voltage_avg_ln",
        lambda d: d.voltage_avg_ln,
        translation_key="voltage_avg_ln",
        unit=V,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=1,
        enabled=False,
    ),
    _measurement(
        "voltage_avg_ll",
        lambda d: d.voltage_avg_ll,
        translation_key="voltage_avg_ll",
        unit=V,
        device_class=SensorDeviceClass.VOLTAGE,
        precision=1,
        enabled=False,
    ),
    _measurement(
        "current_avg",
        lambda d: d.current_avg,
        translation_key="current_avg",
        unit=A,
        device_class=SensorDeviceClass.CURRENT,
        precision=2,
        enabled=False,
    ),
    _measurement(
        "active_power_total",
        lambda d: d.active_power_total,
        translation_key="grid_power",
        unit=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        precision=0,
    ),
    _measurement(
        "grid_import_power",
        lambda d: d.grid_import_power,
        translation_key="grid_import_power",
        unit=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        precision=0,
    ),
    _measurement(
        "grid_export_power",
        lambda d: d.grid_export_power,
        translation_key="grid_export_power",
        unit=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        precision=0,
    ),
    _measurement(
        "apparent_power_total",
        lambda d: d.apparent_power_total,
        translation_key="apparent_power_total",
        unit=UnitOfApparentPower.VOLT_AMPERE,
        device_class=SensorDeviceClass.APPARENT_POWER,
        precision=0,
        enabled=False,
    ),
    _measurement(
        "reactive_power_total",
        lambda d: d.reactive_power_total,
        translation_key="reactive_power_total",
        unit=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        device_class=SensorDeviceClass.REACTIVE_POWER,
        precision=0,
        enabled=False,
    ),
    _measurement(
        "power_factor_total",
        lambda d: d.power_factor_total,
        translation_key="power_factor_total",
        unit=None,
        device_class=SensorDeviceClass.POWER_FACTOR,
        precision=2,
    ),
)


def _kilo(value: float | None) -> float | None:
    return None if value is None else round(value / 1000, 4)


def _counter(
    key: str,
    value_fn: Callable[[Pac2200Data], float | None],
    *,
    translation_key: str,
    unit: str,
    energy: bool,
    enabled: bool,
    tariff: str | None = None,
) -> Pac2200Sensor:
    return SensorDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders={"tariff": tariff} if tariff else None,
        native_unit_of_measurement=unit,
        device_class=SensorDeviceClass.ENERGY if energy else None,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        entity_registry_enabled_default=enabled,
        entity_category=None if enabled else EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: _kilo(value_fn(d)),
    )


KWH = UnitOfEnergy.KILO_WATT_HOUR
COUNTERS: tuple[Pac2200Sensor, ...] = (
    _counter(
        "energy_import",
        lambda d: d.energy_import_total,
        translation_key="grid_import_energy",
        unit=KWH,
        energy=True,
        enabled=True,
    ),
    _counter(
        "energy_export",
        lambda d: d.energy_export_total,
        translation_key="grid_export_energy",
        unit=KWH,
        energy=True,
        enabled=True,
    ),
    *(
        _counter(
            f"{attribute}_{tariff.lower()}",
            _getter(f"{attribute}_{tariff.lower()}"),
            translation_key=translation_key,
            unit=unit,
            energy=unit == KWH,
            enabled=False,
            tariff=tariff,
        )
        for attribute, translation_key, unit in (
            ("energy_import", "energy_import_tariff", KWH),
            ("energy_export", "energy_export_tariff", KWH),
            ("reactive_import", "reactive_import_tariff", "kvarh"),
            ("reactive_export", "reactive_export_tariff", "kvarh"),
            ("apparent_energy", "apparent_energy_tariff", "kVAh"),
        )
        for tariff in ("T1", "T2")
    ),
)


def sensor_descriptions(data: Pac2200Data) -> tuple[Pac2200Sensor, ...]:
    """Every sensor of a PAC2200."""
    return (*SENSORS, *COUNTERS)


def _sensors(device: Pac2200Runtime) -> Iterable[Entity]:
    for description in sensor_descriptions(device.coordinator.data.data):
        yield DeviceSensor(device.coordinator, device.device_info, description)


def _phase_currents(data: Pac2200Data) -> tuple[float, float, float] | None:
    """The three phase currents (A, + import, − export); None when one is not readable.

    The meter's currents are magnitudes; each takes the sign of its phase's active power,
    so that a phase feeding PV into the grid leaves the car more room below the fuse
    (README.md, "Grid connection limits"). Without a power, the magnitude (import) is kept.
    """
    currents = (data.current_l1, data.current_l2, data.current_l3)
    powers = (data.active_power_l1, data.active_power_l2, data.active_power_l3)
    if any(current is None for current in currents):
        return None
    l1, l2, l3 = (
        -abs(current) if power is not None and power < 0 else abs(current)
        for current, power in zip(currents, powers, strict=True)
        if current is not None
    )
    return l1, l2, l3


SPEC = DeviceSpec[Pac2200Client, Pac2200Identity, Pac2200Data](
    device_type=DeviceType.PAC2200,
    default_unit_id=DEFAULT_UNIT_ID,
    client=Pac2200Client,
    identity_id=lambda identity: f"pac2200_{identity.serial}" if identity.serial else None,
    title=lambda identity: "Siemens PAC2200",
    device_info=device_info,
    entities={Platform.SENSOR: _sensors},
    # The meter sits at the grid connection: active power + import, − export.
    grid_power=lambda data: data.active_power_total,
    phase_currents=_phase_currents,
)
