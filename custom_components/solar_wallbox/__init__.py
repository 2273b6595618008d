"""Solar Wallbox: PV surplus charging and installation monitoring over Modbus TCP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er

from . import devices
from .charging_manager import ChargingManager
from .const import CONF_DEVICE_TYPE, DOMAIN, LOGGER, DeviceType
from .coordinator import SolarWallboxCoordinator
from .models import RuntimeData
from .rawlog import async_start_rawlog
from .rcm import RcmMonitor
from .services import async_setup_services
from .store import ChargingStore, async_load_memory

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

    from .models import SolarWallboxConfigEntry

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: register its actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Connect to the entry's device, identify it, and set up its platforms."""
    device_type = DeviceType(entry.data[CONF_DEVICE_TYPE])
    connection = devices.create_connection(entry.data)
    client = devices.create_client(device_type, connection)
    coordinator = SolarWallboxCoordinator(hass, entry, client)
    try:
        await coordinator.async_config_entry_first_refresh()
        found = devices.unique_id(device_type, coordinator.identity, entry.data)
        # A serial number must match; a device known by its address cannot be checked
        # (its address may have been changed with Reconfigure).
        by_address = devices.identified_by_address(device_type, coordinator.identity, entry.data)
        if found != entry.unique_id and not by_address:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="wrong_device",
                translation_placeholders={"error": "the device reports another serial number"},
            )
    except BaseException:
        await connection.close()
        raise
    entry.runtime_data = RuntimeData(
        device_type=device_type,
        coordinator=coordinator,
        device_info=devices.device_info(device_type, str(entry.unique_id), coordinator.identity),
    )
    if device_type is DeviceType.AMTRON:
        # The controller's memory first (store.py): the lockout is in place before the
        # first decision, whichever entities are enabled and whatever loads first.
        store = ChargingStore(hass, entry.entry_id)
        loaded = await async_load_memory(hass, entry, store)
        manager = ChargingManager(hass, entry, coordinator, store, loaded.memory)
        entry.runtime_data.charging = manager
        manager.start()
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, devices.PLATFORMS[device_type])
    _remove_stale_entities(hass, entry)
    if device_type is DeviceType.DCTR:
        # After the platforms: the device exists, so events carry its id.
        entry.runtime_data.rcm = RcmMonitor(hass, coordinator)
        entry.runtime_data.rcm.start()
    # PAC2200 and DCTR: the raw measurement log, if enabled (a failure raises an issue).
    entry.runtime_data.rawlog = await async_start_rawlog(hass, entry, coordinator)
    return True


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
    if entry.data.get(CONF_DEVICE_TYPE) == DeviceType.AMTRON:
        await ChargingStore(hass, entry.entry_id).async_remove()


async def async_unload_entry(hass: HomeAssistant, entry: SolarWallboxConfigEntry) -> bool:
    """Unload the platforms and close the connection."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(
        entry, devices.PLATFORMS[runtime.device_type]
    )
    if unloaded:
        if runtime.charging is not None:
            await runtime.charging.async_close()
        if runtime.rawlog is not None:
            await runtime.rawlog.async_stop()
        await runtime.coordinator.async_shutdown()
        await runtime.coordinator.client.connection.close()
    return unloaded
