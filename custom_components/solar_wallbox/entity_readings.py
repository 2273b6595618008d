"""Home Assistant entity states as readings: a number in a known unit, and its time.

Shared by the site adapters (charging_inputs.py: grid, battery and PV power, state of
charge) and the grid connection's inputs (charging_limits.py: phase currents). A state is a
reading when it is a finite number in a unit HA's converters know for the quantity (power
to W, current to A, state of charge in %); ``unknown``, ``unavailable``, text or a wrong
unit give none. A reading's time is the state's ``last_reported`` (a meter that sends the
same value again is fresh), ``last_updated`` where a release lacks it (README.md, "Using
other meters and inverters").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    PERCENTAGE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.util.unit_conversion import ElectricCurrentConverter, PowerConverter

if TYPE_CHECKING:
    from homeassistant.core import State


class Quantity(StrEnum):
    """What an entity's state is read as: a power (to W), a current (to A) or a state of
    charge (%)."""

    POWER = "power"
    CURRENT = "current"
    SOC = "soc"


def unit_fits(quantity: Quantity, unit: str | None) -> bool:
    """True when ``unit`` is one the reading understands for ``quantity``."""
    if quantity is Quantity.SOC:
        return unit == PERCENTAGE
    if quantity is Quantity.CURRENT:
        return unit in ElectricCurrentConverter.VALID_UNITS
    return unit in PowerConverter.VALID_UNITS


@dataclass(frozen=True, slots=True)
class EntityReading:
    """One entity's state as a number (W, A or %), and when it was last reported."""

    value: float
    measured_at: datetime


def reported_at(state: State) -> datetime:
    """When the entity last reported its value, also without a change (``last_reported``);
    ``last_updated`` where a release lacks it (read through ``getattr``)."""
    reported: datetime | None = getattr(state, "last_reported", None)
    return reported if reported is not None else state.last_updated


def read_state(state: State | None, quantity: Quantity) -> EntityReading | None:
    """``state`` as a reading, or None (missing, unknown, unavailable, text, wrong unit)."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE, ""):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if not unit_fits(quantity, unit):
        return None
    if quantity is Quantity.POWER:
        value = PowerConverter.convert(value, unit, UnitOfPower.WATT)
    elif quantity is Quantity.CURRENT:
        value = ElectricCurrentConverter.convert(value, unit, UnitOfElectricCurrent.AMPERE)
    return EntityReading(value=value, measured_at=reported_at(state))
