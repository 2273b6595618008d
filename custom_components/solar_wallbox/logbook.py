"""Logbook entries for charging starts/stops, residual current alarms and grid limits.

Home Assistant has no translations for logbook text, so the lines are built from what is
translated already: the decision reasons (entity.sensor.decision_reason.state), the device
trigger names and the entity names, in the system language (loaded at setup, see
``async_load_translations``), with English as the fallback. Band labels are the same in
every language.
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.translation import (
    async_get_cached_translations,
    async_get_translations,
)
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    EVENT_CHARGING_STARTED,
    EVENT_CHARGING_STOPPED,
    EVENT_FUSE_LIMIT,
    EVENT_GRID_DIMMING,
    EVENT_PLAN,
    EVENT_RCM_ALARM,
    EVENT_RCM_LINK,
)
from .drivers.dctr_bands import BAND_LABELS

CATEGORIES = ("entity", "device_automation")
RCM_NAME = "Doepke DCTR"  # a product name: the same in every language


async def async_load_translations(hass: HomeAssistant) -> None:
    """Load what the logbook lines use into Home Assistant's cache (en as the fallback)."""
    for language in {hass.config.language, "en"}:
        for category in CATEGORIES:
            await async_get_translations(hass, language, category, [DOMAIN])


def _text(hass: HomeAssistant, category: str, key: str, default: str) -> str:
    for language in (hass.config.language, "en"):
        cached = async_get_cached_translations(hass, language, category, DOMAIN)
        if text := cached.get(f"component.{DOMAIN}.{category}.{key}"):
            return text
    return default


def describe(hass: HomeAssistant, event: Event) -> dict[str, str]:
    """One logbook line for one of our events."""
    data = event.data
    if event.event_type in (EVENT_CHARGING_STARTED, EVENT_CHARGING_STOPPED):
        name = _text(hass, "entity", "switch.surplus_charging.name", "Surplus charging")
        reason = str(data.get("reason"))
        reason_text = _text(hass, "entity", f"sensor.decision_reason.state.{reason}", reason)
        vehicle = f" ({data['vehicle']})" if data.get("vehicle") else ""
        arrow = "▶" if event.event_type == EVENT_CHARGING_STARTED else "■"
        message = f"{arrow} {data.get('current')} A{vehicle}: {reason_text}"
        return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}
    if event.event_type in (EVENT_GRID_DIMMING, EVENT_FUSE_LIMIT):
        return _describe_limit(hass, event)
    if event.event_type == EVENT_PLAN:
        return _describe_plan(hass, event)
    if event.event_type == EVENT_RCM_ALARM:
        alarm = str(data.get("alarm"))
        raised = data.get("state") == "raised"
        key = f"alarm_{alarm.lower()}_raised" if raised else "alarm_cleared"
        what = _text(hass, "device_automation", f"trigger_type.{key}", key)
        bands = ", ".join(BAND_LABELS.get(b, str(b)) for b in data.get("bands") or [])
        detail = f"{alarm}: {bands}" if bands else alarm
        message = f"{what} ({detail})"
        return {LOGBOOK_ENTRY_NAME: RCM_NAME, LOGBOOK_ENTRY_MESSAGE: message}
    key = "link_lost" if data.get("state") == "lost" else "link_restored"
    message = _text(hass, "device_automation", f"trigger_type.{key}", key)
    return {LOGBOOK_ENTRY_NAME: RCM_NAME, LOGBOOK_ENTRY_MESSAGE: message}


def _describe_limit(hass: HomeAssistant, event: Event) -> dict[str, str]:
    """§14a dimming or the fuse limit started/ended: the trigger's name and the numbers."""
    data = event.data
    name = _text(hass, "entity", "switch.surplus_charging.name", "Surplus charging")
    prefix = "grid_dimming" if event.event_type == EVENT_GRID_DIMMING else "fuse_limit"
    key = f"{prefix}_{'started' if data.get('state') == 'started' else 'ended'}"
    what = _text(hass, "device_automation", f"trigger_type.{key}", key)
    details = [f"{data['current']} A"] if data.get("current") is not None else []
    if data.get("cap") is not None:
        details.append(f"≤ {data['cap']} A")
    if prefix == "grid_dimming" and data.get("state") == "started":
        details.append(f"{data.get('dimming_power', 0):.0f} W")
    if data.get("signal") not in (None, "on", "off"):
        details.append(str(data["signal"]))  # the signal is lost: dimmed to be safe
    if phases := data.get("phase_currents"):
        details.append(" / ".join(f"{value:.1f}" for value in phases) + " A")
    message = f"{what} ({', '.join(details)})" if details else what
    return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}


def _describe_plan(hass: HomeAssistant, event: Event) -> dict[str, str]:
    """A departure plan was set, became impossible or was reached: the departure, figures."""
    data = event.data
    name = _text(hass, "entity", "sensor.plan_status.name", "Departure plan")
    kind = str(data.get("type"))
    what = _text(hass, "device_automation", f"trigger_type.plan_{kind}", kind)
    details = []
    departure = dt_util.parse_datetime(str(data.get("departure") or ""))
    if departure is not None:
        details.append(dt_util.as_local(departure).strftime("%Y-%m-%d %H:%M"))
    if isinstance(data.get("need"), int | float) and kind != "reached":
        details.append(f"{data['need'] / 1000:.1f} kWh")
    message = f"{what} ({', '.join(details)})" if details else what
    return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe our events for the logbook."""
    for event_type in (
        EVENT_CHARGING_STARTED,
        EVENT_CHARGING_STOPPED,
        EVENT_RCM_ALARM,
        EVENT_RCM_LINK,
        EVENT_GRID_DIMMING,
        EVENT_FUSE_LIMIT,
        EVENT_PLAN,
    ):
        async_describe_event(DOMAIN, event_type, lambda event: describe(hass, event))
