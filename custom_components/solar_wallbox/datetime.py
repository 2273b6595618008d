"""Datetime entity of the wallbox: the departure of the one-off plan (plan_entities.py)."""

from __future__ import annotations

from homeassistant.const import Platform

from .entity import platform_setup

PARALLEL_UPDATES = 0


async_setup_entry = platform_setup(Platform.DATETIME)
