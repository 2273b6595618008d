"""Logbook entries for charging starts/stops and residual current alarms."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    DOMAIN,
    EVENT_CHARGING_STARTED,
    EVENT_CHARGING_STOPPED,
    EVENT_RCM_ALARM,
    EVENT_RCM_LINK,
)


def describe(event: Event) -> dict[str, str]:
    """One logbook line for one of our events."""
    data = event.data
    if event.event_type == EVENT_CHARGING_STARTED:
        vehicle = f" ({data['vehicle']})" if data.get("vehicle") else ""
        message = f"started charging at {data.get('current')} A{vehicle}: {data.get('reason')}"
        return {LOGBOOK_ENTRY_NAME: "Surplus charging", LOGBOOK_ENTRY_MESSAGE: message}
    if event.event_type == EVENT_CHARGING_STOPPED:
        message = f"stopped charging: {data.get('reason')}"
        return {LOGBOOK_ENTRY_NAME: "Surplus charging", LOGBOOK_ENTRY_MESSAGE: message}
    if event.event_type == EVENT_RCM_ALARM:
        bands = ", ".join(data.get("bands") or []) or "no band"
        message = f"alarm {data.get('alarm')} {data.get('state')} ({bands})"
        return {LOGBOOK_ENTRY_NAME: "Residual current monitor", LOGBOOK_ENTRY_MESSAGE: message}
    message = f"link {data.get('state')}"
    return {LOGBOOK_ENTRY_NAME: "Residual current monitor", LOGBOOK_ENTRY_MESSAGE: message}


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
    ):
        async_describe_event(DOMAIN, event_type, describe)
