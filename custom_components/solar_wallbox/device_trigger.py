"""Device triggers of the residual current monitor: alarms raised/cleared, link lost/back."""

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
from .const import CONF_DEVICE_TYPE, DOMAIN, EVENT_RCM_ALARM, EVENT_RCM_LINK, DeviceType

# trigger type → (event type, event data it matches besides the device id)
TRIGGERS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "alarm_a_raised": (EVENT_RCM_ALARM, {"alarm": "A", "state": "raised"}),
    "alarm_b_raised": (EVENT_RCM_ALARM, {"alarm": "B", "state": "raised"}),
    "alarm_cleared": (EVENT_RCM_ALARM, {"state": "cleared"}),
    "link_lost": (EVENT_RCM_LINK, {"state": "lost"}),
    "link_restored": (EVENT_RCM_LINK, {"state": "restored"}),
}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend({vol.Required(CONF_TYPE): vol.In(TRIGGERS)})


def _is_rcm_device(hass: HomeAssistant, device_id: str) -> bool:
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return False
    for entry_id in device_entry_ids(device):
        entry = hass.config_entries.async_get_entry(entry_id)
        if (
            entry is not None
            and entry.domain == DOMAIN
            and entry.data.get(CONF_DEVICE_TYPE) == DeviceType.DCTR
        ):
            return True
    return False


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """List the triggers of a residual current monitor device (none for other devices)."""
    if not _is_rcm_device(hass, device_id):
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: t}
        for t in TRIGGERS
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
