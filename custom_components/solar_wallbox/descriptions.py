"""Entity descriptions shared by every device: a value function over the device's data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.helpers.typing import StateType


@dataclass(frozen=True, kw_only=True)
class SensorDescription[DataT](SensorEntityDescription):
    """A sensor whose state is computed from one poll of its device."""

    value_fn: Callable[[DataT], StateType | datetime]
    attrs_fn: Callable[[DataT], dict[str, Any]] | None = None
    group: str | None = None  # register group the value needs (absent → no entity)


@dataclass(frozen=True, kw_only=True)
class EnergySensorDescription[DataT](SensorEntityDescription):
    """An energy sensor (kWh) integrated from a power value (W, ≥ 0 counts)."""

    power_fn: Callable[[DataT], float | None]


@dataclass(frozen=True, kw_only=True)
class BinarySensorDescription[DataT](BinarySensorEntityDescription):
    """A binary sensor whose state is computed from one poll of its device."""

    value_fn: Callable[[DataT], bool | None]
    attrs_fn: Callable[[DataT], dict[str, Any]] | None = None
    group: str | None = None  # register group the value needs (absent → no entity)
