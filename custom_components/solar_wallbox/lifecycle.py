"""Setting up and unloading entries: the Home Assistant side of __init__.py.

What differs between device types comes from their specs (devices/); this module only
runs them in order: connect and identify, the spec's setup (a wallbox's charging manager),
the platforms, the spec's start (a monitor's events), the raw measurement log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import entity_registry as er

from . import devices
from .const import CONF_DEVICE_TYPE, DOMAIN, LOGGER
from .coordinator import DeviceClient, SolarWallboxCoordinator
from .logbook import async_load_translations
from .models import DeviceRuntime
from .plan_services import async_setup_plan_services
from .rawlog import async_start_rawlog
from .services import async_setup_services

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

    from .devices.spec import DeviceSpec
    from .models import SolarWallboxConfigEntry


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: register its actions, load the logbook's translations."""
    async_setup_services(hass)
    async_setup_plan_services(hass)
    await async_load_translations(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Connect to the entry's device, identify it, and set up its platforms."""
    spec = devices.spec_for(entry.data[CONF_DEVICE_TYPE])
    runtime = await _async_connect(hass, entry, spec)
    entry.runtime_data = runtime
    if spec.setup is not None:
        await spec.setup(hass, entry, runtime)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, spec.platforms)
    _remove_stale_entities(hass, entry)
    if spec.started is not None:
        spec.started(hass, entry, runtime)
    # PAC2200 and DCTR: the raw measurement log, if enabled (a failure raises an issue).
    runtime.rawlog = await async_start_rawlog(hass, entry, runtime.coordinator)
    return True


async def _async_connect[ClientT: DeviceClient[Any, Any], IdentityT, DataT](
    hass: HomeAssistant,
    entry: SolarWallboxConfigEntry,
    spec: DeviceSpec[ClientT, IdentityT, DataT],
) -> DeviceRuntime[ClientT, IdentityT, DataT]:
    """Identify the device and take the first poll; a different device stops the entry."""
    client = spec.client(devices.create_connection(entry.data))
    coordinator = SolarWallboxCoordinator[IdentityT, DataT](hass, entry, client)
    try:
        await coordinator.async_config_entry_first_refresh()
        found = spec.unique_id(coordinator.identity, entry.data)
        # A serial number must match; a device known by its address cannot be checked
        # (its address may have been changed with Reconfigure).
        if found != entry.unique_id and not spec.identified_by_address(coordinator.identity):
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="wrong_device",
                translation_placeholders={"error": "the device reports another serial number"},
            )
    except BaseException:
        await client.connection.close()
        raise
    return DeviceRuntime(
        spec=spec,
        client=client,
        coordinator=coordinator,
        device_info=spec.device_info(str(entry.unique_id), coordinator.identity),
    )


@callback
def _remove_stale_entities(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
    """Remove entities this entry no longer provides.

    E3DC power meters and wallboxes, PAC2200 and DCTR measurements are created from
    what the device reports; one that is gone (a meter uninstalled, a band removed)
    would otherwise stay in the registry as "unavailable" forever. Only platforms that
    finished their setup in this run are checked.
    """
    registry = er.async_get(hass)
    created = entry.runtime_data.created
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        wanted = created.get(registered.domain)
        if wanted is not None and registered.unique_id not in wanted:
            LOGGER.info("Removing %s: the device no longer provides it", registered.entity_id)
            registry.async_remove(registered.entity_id)


async def _async_update_listener(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
    """Reload after the options or the connection settings changed."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> None:
    """Delete what the entry kept in storage (a wallbox's surplus charging memory)."""
    try:
        spec = devices.spec_for(entry.data[CONF_DEVICE_TYPE])
    except (KeyError, ValueError):
        # A damaged entry must still be removable; it cannot have stored anything.
        LOGGER.warning("Removing %s: it names no known device type", entry.title)
        return
    if spec.remove is not None:
        await spec.remove(hass, entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Unload the platforms and close the connection."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.spec.platforms)
    if unloaded:
        if runtime.charging is not None:
            await runtime.charging.async_close()
        if runtime.rawlog is not None:
            await runtime.rawlog.async_stop()
        await runtime.coordinator.async_shutdown()
        await runtime.coordinator.client.connection.close()
    return unloaded
