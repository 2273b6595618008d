"""The Home Assistant harness: fixtures and helpers of the tests that run Home Assistant.

tests/integration/conftest.py uses them for every test there; the soak (tests/tools/) too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.solar_wallbox.const import (
    CONF_DEVICE_TYPE,
    CONF_SCAN_INTERVAL,
    CONF_UNIT_ID,
    DOMAIN,
)

from .conftest import E3DC_SERIAL


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Load custom_components/ in every test."""


# Loggers through which Home Assistant reports the use of deprecated APIs (report_usage).
DEPRECATION_LOGGERS = ("homeassistant.helpers.frame", "homeassistant.helpers.deprecation")


@pytest.fixture(autouse=True)
def no_deprecated_api_use(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which Home Assistant reports our use of a deprecated API.

    Home Assistant logs these reports instead of raising DeprecationWarning, so
    ``-W error::DeprecationWarning`` (pyproject.toml) alone would not see them.
    """
    yield
    reports = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if record.name in DEPRECATION_LOGGERS and "solar_wallbox" in record.getMessage()
    ]
    assert not reports, f"deprecated Home Assistant API used: {reports}"


def e3dc_entry(port: int, **options: Any) -> MockConfigEntry:
    """A config entry for the simulated E3DC."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="E3DC S10 X Compact",
        unique_id=E3DC_SERIAL,
        data={
            CONF_DEVICE_TYPE: "e3dc",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_UNIT_ID: 1,
        },
        options={CONF_SCAN_INTERVAL: 2, **options},
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add ``entry`` and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
