"""Device triggers: the residual current monitor's alarms and link, the wallbox's grid limits.

The monitor: alarms raised/cleared, link lost/back. The wallbox: §14a dimming started/ended,
the main fuse limit started/ended holding the current down (charging_limits.py), a departure
plan set, impossible, reached (charging_plan.py).
"""

from __future__ import annotations

from typing import Any, Final

import voluptuous as vol
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .compat import device_entry_ids
from .const import (
    CONF_DEVICE_TYPE,
    DOMAIN,
    EVENT_FUSE_LIMIT,
    EVENT_GRID_DIMMING,
    EVENT_PLAN,
    EVENT_RCM_ALARM,
    EVENT_RCM_LINK,
    DeviceType,
)

# device type → trigger type → (event type, event data it matches besides the device id)
DEVICE_TRIGGERS: Final[dict[DeviceType, dict[str, tuple[str, dict[str, str]]]]] = {
    DeviceType.DCTR: {
        "alarm_a_raised": (EVENT_RCM_ALARM, {"alarm": "A", "state": "raised"}),
        "alarm_b_raised": (EVENT_RCM_ALARM, {"alarm": "B", "state": "raised"}),
        "alarm_cleared": (EVENT_RCM_ALARM, {"state": "cleared"}),
        "link_lost": (EVENT_RCM_LINK, {"state": "lost"}),
        "link_restored": (EVENT_RCM_LINK, {"state": "restored"}),
    },
    DeviceType.AMTRON: {
        "grid_dimming_started": (EVENT_GRID_DIMMING, {"state": "started"}),
        "grid_dimming_ended": (EVENT_GRID_DIMMING, {"state": "ended"}),
        "fuse_limit_started": (EVENT_FUSE_LIMIT, {"state": "started"}),
        "fuse_limit_ended": (EVENT_FUSE_LIMIT, {"state": "ended"}),
        "plan_set": (EVENT_PLAN, {"type": "set"}),
        "plan_impossible": (EVENT_PLAN, {"type": "impossible"}),
        "plan_reached": (EVENT_PLAN, {"type": "reached"}),
    },
}
TRIGGERS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    kind: trigger for triggers in DEVICE_TRIGGERS.values() for kind, trigger in triggers.items()
}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend({vol.Required(CONF_TYPE): vol.In(TRIGGERS)})


def _device_type(hass: HomeAssistant, device_id: str) -> DeviceType | None:
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for entry_id in device_entry_ids(device):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None and entry.domain == DOMAIN:
            kind = entry.data.get(CONF_DEVICE_TYPE)
            if kind in set(DeviceType):
                return DeviceType(kind)
    return None


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """List the triggers of a residual current monitor or a wallbox (none for others)."""
    kind = _device_type(hass, device_id)
    if kind is None:
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: t}
        for t in DEVICE_TRIGGERS.get(kind, {})
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Attach a trigger: an event trigger on our event with the device's id."""
    event_type, data = TRIGGERS[config[CONF_TYPE]]
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: event_type,
            "event_data": {CONF_DEVICE_ID: config[CONF_DEVICE_ID], **data},
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
