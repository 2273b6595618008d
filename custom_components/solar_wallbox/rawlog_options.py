"""The raw-log fields of a PAC2200 or DCTR entry's options form (see :mod:`.rawlog`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import voluptuous as vol
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)

from .const import (
    CONF_RAWLOG,
    CONF_RAWLOG_DIRECTORY,
    CONF_RAWLOG_FLUSH_INTERVAL,
    CONF_RAWLOG_SAMPLE_INTERVAL,
    DEFAULT_RAWLOG_FLUSH_INTERVAL,
    DEFAULT_RAWLOG_SAMPLE_INTERVAL,
    DOMAIN,
    MAX_RAWLOG_INTERVAL,
    MIN_RAWLOG_FLUSH_INTERVAL,
    MIN_RAWLOG_SAMPLE_INTERVAL,
)
from .rawlog import RawLogSettings, directory_problem

RAWLOG_OPTIONS: Final = (
    CONF_RAWLOG,
    CONF_RAWLOG_DIRECTORY,
    CONF_RAWLOG_SAMPLE_INTERVAL,
    CONF_RAWLOG_FLUSH_INTERVAL,
)


def _seconds(low: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low,
            max=MAX_RAWLOG_INTERVAL,
            step=1,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="s",
        )
    )


def suggested_directory(hass: HomeAssistant) -> str | None:
    """A default log directory: ``solar_wallbox`` in the first media directory."""
    for media in hass.config.media_dirs.values():
        return str(Path(media) / DOMAIN)
    return None


def option_fields(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[Any, Any]:
    """The raw-log fields of the device options form, filled from ``values``."""
    settings = RawLogSettings.from_options(values)
    directory = settings.directory or suggested_directory(hass)
    return {
        vol.Required(CONF_RAWLOG, default=settings.enabled): BooleanSelector(),
        vol.Optional(
            CONF_RAWLOG_DIRECTORY, description={"suggested_value": directory}
        ): TextSelector(),
        vol.Required(CONF_RAWLOG_SAMPLE_INTERVAL, default=settings.sample_interval): _seconds(
            MIN_RAWLOG_SAMPLE_INTERVAL
        ),
        vol.Required(CONF_RAWLOG_FLUSH_INTERVAL, default=settings.flush_interval): _seconds(
            MIN_RAWLOG_FLUSH_INTERVAL
        ),
    }


async def async_validate_options(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The raw-log options from a submitted form, and the form errors."""
    errors: dict[str, str] = {}
    directory = str(user_input.get(CONF_RAWLOG_DIRECTORY) or "").strip()
    options: dict[str, Any] = {
        CONF_RAWLOG: bool(user_input.get(CONF_RAWLOG, False)),
        CONF_RAWLOG_DIRECTORY: directory,
        CONF_RAWLOG_SAMPLE_INTERVAL: int(
            user_input.get(CONF_RAWLOG_SAMPLE_INTERVAL, DEFAULT_RAWLOG_SAMPLE_INTERVAL)
        ),
        CONF_RAWLOG_FLUSH_INTERVAL: int(
            user_input.get(CONF_RAWLOG_FLUSH_INTERVAL, DEFAULT_RAWLOG_FLUSH_INTERVAL)
        ),
    }
    if options[CONF_RAWLOG]:
        if not directory:
            errors[CONF_RAWLOG_DIRECTORY] = "directory_required"
        elif await hass.async_add_executor_job(directory_problem, hass, directory):
            errors[CONF_RAWLOG_DIRECTORY] = "directory_not_allowed"
    return options, errors
