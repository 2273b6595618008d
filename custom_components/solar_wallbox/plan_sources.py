"""Inputs of departure plans from Home Assistant: the PV forecast and the grid prices.

- **PV forecast**: the energy platform every forecast integration implements for the
  Energy dashboard's solar forecast (``async_get_solar_forecast(hass, entry_id)`` returning
  ``{"wh_hours": {iso time: Wh}}``: for Solcast and Open-Meteo Solar Forecast each value
  is the energy of the period that starts at its key, for Forecast.Solar of the one that
  ends there). Which entries: the ones
  chosen in the options, else those of the Energy dashboard's solar sources. Solcast's
  low estimate (p10) is read from its forecast sensors' ``detailedForecast`` attribute
  when one of them is linked (docs/departure-plans.md).
- **Prices**: the list attribute of a price sensor, in the shapes of the common price
  integrations (docs/departure-plans.md lists them), or a fixed price.

Everything that cannot be parsed is skipped (a plan without a forecast counts no sun; a
plan without prices uses the fixed price or treats every slot alike); nothing raises.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .charging.planner import ForecastSlot, PriceSlot
from .const import LOGGER

HOUR: Final = timedelta(hours=1)
# Keys of one price item, in the order they are tried (docs/departure-plans.md).
START_KEYS: Final = ("start", "start_time", "startsAt", "starts_at", "from", "valid_from")
END_KEYS: Final = ("end", "end_time", "endsAt", "ends_at", "till", "to", "valid_to")
PRICE_KEYS: Final = (
    "price_per_kwh",
    "price",
    "value",
    "total",
    "value_inc_vat",
    "price_ct_per_kwh",
    "price_pence_per_kwh",
    "price_eur_per_mwh",
    "price_gbp_per_mwh",
    "marketprice",
)
# List attributes that carry prices, in the order they are tried.
PRICE_LISTS: Final = ("data", "raw_today", "raw_tomorrow", "prices", "forecast", "rates")
# Prefixes of "…/kWh" units that are a hundredth of the currency (cent, penny, öre).
HUNDREDTHS: Final = frozenset({"ct", "c", "cent", "cents", "¢", "p", "öre", "øre", "snt"})
# Forecast integrations whose ``wh_hours`` keys end their period (docs/departure-plans.md).
PERIOD_ENDING: Final = frozenset({"forecast_solar"})
# Price integrations whose prices come from an action (docs/departure-plans.md).
NORDPOOL: Final = "nordpool"
TIBBER: Final = "tibber"
SOLCAST: Final = "solcast_solar"
# Solcast's forecast attribute with a low estimate (docs/departure-plans.md).
SOLCAST_DETAIL: Final = "detailedForecast"


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else dt_util.as_utc(value)
    if isinstance(value, str):
        parsed = dt_util.parse_datetime(value)
        if parsed is None:
            return None
        return parsed if parsed.tzinfo is not None else dt_util.as_utc(parsed)
    return None


def finite_number(value: Any) -> float | None:
    """A finite float from a number or numeric text (not a bool); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _scale(unit: str | None, key: str) -> float:
    """What turns a price of ``unit`` (or of the key's own unit) into per kWh."""
    if key in ("price_ct_per_kwh", "price_pence_per_kwh"):
        return 0.01
    if key.endswith("_per_mwh"):
        return 0.001
    compact = (unit or "").replace(" ", "").casefold()
    if compact.endswith("/mwh"):
        return 0.001
    if compact.endswith("/kwh") and compact[:-4] in HUNDREDTHS:
        return 0.01
    return 1.0


def parse_price_items(items: Iterable[Any], unit: str | None = None) -> list[PriceSlot]:
    """Price slots from a list of items (mappings with a start, maybe an end, a price)."""
    raw: list[tuple[datetime, datetime | None, float]] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        start = next((t for k in START_KEYS if (t := _time(item.get(k))) is not None), None)
        end = next((t for k in END_KEYS if (t := _time(item.get(k))) is not None), None)
        key = next((k for k in PRICE_KEYS if finite_number(item.get(k)) is not None), None)
        if start is None or key is None:
            continue
        price = finite_number(item.get(key))
        if price is None:
            continue
        raw.append((start, end, price * _scale(unit, key)))
    raw.sort(key=lambda r: r[0])
    slots: list[PriceSlot] = []
    for i, (start, given, price) in enumerate(raw):
        end = given
        if end is None:
            following = raw[i + 1][0] if i + 1 < len(raw) else None
            near = following is not None and following - start <= HOUR
            end = following if near and following is not None else start + HOUR
        if end > start:
            slots.append(PriceSlot(start, end, price))
    return slots


def prices_from_state(state: State | None) -> list[PriceSlot]:
    """Price slots from a price sensor's attributes (every known list attribute)."""
    if state is None:
        return []
    unit = state.attributes.get("unit_of_measurement")
    found: dict[datetime, PriceSlot] = {}
    for name in PRICE_LISTS:
        items = state.attributes.get(name)
        if isinstance(items, list | tuple):
            for slot in parse_price_items(items, unit if isinstance(unit, str) else None):
                found.setdefault(slot.start, slot)
    return [found[start] for start in sorted(found)]


def price_now(state: State | None) -> float | None:
    """The sensor's own state as the current price (per kWh), if it is a number."""
    if state is None:
        return None
    value = finite_number(state.state)
    if value is None:
        return None
    unit = state.attributes.get("unit_of_measurement")
    return value * _scale(unit if isinstance(unit, str) else None, "state")


def forecast_from_wh_hours(
    wh_hours: Mapping[str, Any],
    low: Mapping[datetime, float] | None = None,
    *,
    ending: bool = False,
) -> list[ForecastSlot]:
    """Forecast slots from ``wh_hours``: each key the start of its period (Solcast,
    Open-Meteo), or with ``ending`` its end (Forecast.Solar: the energy up to the key;
    docs/departure-plans.md). A period is at most an hour (the first of a day: an hour)."""
    points = sorted(
        (at, wh)
        for key, value in wh_hours.items()
        if (at := _time(key)) is not None and (wh := finite_number(value)) is not None
    )
    slots: list[ForecastSlot] = []
    for i, (at, wh) in enumerate(points):
        if ending:
            previous = points[i - 1][0] if i > 0 else at - HOUR
            start, end = (previous if at - previous <= HOUR else at - HOUR), at
        else:
            following = points[i + 1][0] if i + 1 < len(points) else at + HOUR
            start, end = at, (following if following - at <= HOUR else at + HOUR)
        hours = (end - start).total_seconds() / 3600.0
        if hours <= 0:
            continue
        power = max(wh, 0.0) / hours
        low_w = low.get(start) if low else None
        slots.append(ForecastSlot(start, end, power, None if low_w is None else min(low_w, power)))
    return slots


def solcast_low(states: Iterable[State]) -> dict[datetime, float]:
    """p10 (W) per period start from Solcast sensors' ``detailedForecast`` (kW values)."""
    low: dict[datetime, float] = {}
    for state in states:
        items = state.attributes.get(SOLCAST_DETAIL)
        for item in items if isinstance(items, list | tuple) else ():
            if not isinstance(item, Mapping):
                continue
            start = _time(item.get("period_start"))
            value = finite_number(item.get("pv_estimate10"))
            if start is not None and value is not None:
                low.setdefault(start, value * 1000.0)  # sensors of other days: the same
    return low


def merge_forecasts(forecasts: list[list[ForecastSlot]]) -> list[ForecastSlot]:
    """Several forecasts (one per PV array, e.g. two roofs) added up, on the union of their
    periods (a 30-minute and an hourly forecast add per half hour). The low estimate is
    kept only where every forecast has one."""
    if len(forecasts) == 1:
        return forecasts[0]
    edges = sorted({t for slots in forecasts for slot in slots for t in (slot.start, slot.end)})
    ordered = [sorted(slots, key=lambda slot: slot.start) for slots in forecasts]
    at = [0] * len(ordered)  # per forecast: the first period not yet behind us
    merged: list[ForecastSlot] = []
    for start, end in itertools.pairwise(edges):
        pv, low, covered, lows = 0.0, 0.0, False, True
        for i, slots in enumerate(ordered):
            while at[i] < len(slots) and slots[at[i]].end <= start:
                at[i] += 1
            slot = slots[at[i]] if at[i] < len(slots) else None
            if slot is None or slot.start > start or slot.end < end:
                continue
            covered = True
            pv += slot.pv_w
            if slot.pv_low_w is None:
                lows = False
            else:
                low += slot.pv_low_w
        if covered:
            merged.append(ForecastSlot(start, end, pv, low if lows else None))
    return merged


async def async_forecast_entries(hass: HomeAssistant, chosen: list[str]) -> list[str]:
    """The forecast entries to use: those chosen, else the Energy dashboard's."""
    if chosen:
        return chosen
    try:
        from homeassistant.components.energy.data import (  # noqa: PLC0415
            async_get_manager,
        )

        manager = await async_get_manager(hass)
    except Exception:  # the energy integration is optional
        return []
    data: Any = manager.data
    entries: list[str] = []
    for source in (data or {}).get("energy_sources", []):
        if source.get("type") == "solar":
            entries.extend(source.get("config_entry_solar_forecast") or [])
    return list(dict.fromkeys(entries))


async def async_solar_forecast(hass: HomeAssistant, chosen: list[str]) -> list[ForecastSlot]:
    """The PV forecast of the chosen (or the Energy dashboard's) forecast entries."""
    entries = await async_forecast_entries(hass, chosen)
    if not entries:
        return []
    try:
        from homeassistant.components.energy.websocket_api import (  # noqa: PLC0415
            async_get_energy_platforms,
        )

        platforms: Mapping[str, Any] = await async_get_energy_platforms(hass)
    except Exception:  # the energy integration is optional
        LOGGER.debug("No energy platforms for the solar forecast", exc_info=True)
        return []
    forecasts: list[list[ForecastSlot]] = []
    for entry_id in entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain not in platforms:
            continue
        try:
            result = await platforms[entry.domain](hass, entry_id)
        except Exception:  # a broken forecast integration is skipped
            LOGGER.debug("Solar forecast of %s failed", entry.title, exc_info=True)
            continue
        wh_hours = result.get("wh_hours") if isinstance(result, Mapping) else None
        if not isinstance(wh_hours, Mapping):
            continue
        low = solcast_low(
            state
            for entity in er.async_entries_for_config_entry(er.async_get(hass), entry_id)
            if entry.domain == SOLCAST
            and (state := hass.states.get(entity.entity_id)) is not None
            and SOLCAST_DETAIL in state.attributes
        )
        ending = entry.domain in PERIOD_ENDING
        now = dt_util.utcnow()
        slots = forecast_from_wh_hours(wh_hours, low or None, ending=ending)
        forecasts.append([slot for slot in slots if slot.end > now])  # not the past
    return merge_forecasts(forecasts) if forecasts else []


async def async_prices_from_action(hass: HomeAssistant, entity_id: str) -> list[PriceSlot]:
    """Prices of today and tomorrow from the Nord Pool or Tibber core integration's action,
    for a price sensor of theirs (their sensors carry no list). [] for any other sensor and
    whenever the action fails (tomorrow's prices may not be published yet)."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None or entry.platform not in (NORDPOOL, TIBBER):
        return []
    today = dt_util.now().date()
    responses: list[tuple[Any, float]] = []
    if entry.platform == NORDPOOL and hass.services.has_service(NORDPOOL, "get_prices_for_date"):
        for day in (today, today + timedelta(days=1)):
            data = {"config_entry": entry.config_entry_id, "date": day.isoformat()}
            response = await _async_call(hass, NORDPOOL, "get_prices_for_date", data)
            if isinstance(response, Mapping):
                # {area: [{start, end, price}]} per MWh: the first area with prices.
                area = next((v for v in response.values() if isinstance(v, list) and v), [])
                responses.append((area, 0.001))
    elif entry.platform == TIBBER and hass.services.has_service(TIBBER, "get_prices"):
        start = dt_util.start_of_local_day()
        data = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}
        response = await _async_call(hass, TIBBER, "get_prices", data)
        homes = response.get("prices") if isinstance(response, Mapping) else None
        if isinstance(homes, Mapping):
            home = next((v for v in homes.values() if isinstance(v, list) and v), [])
            responses.append((home, 1.0))
    slots: dict[datetime, PriceSlot] = {}
    for items, scale in responses:
        for slot in parse_price_items(items):
            slots.setdefault(slot.start, PriceSlot(slot.start, slot.end, slot.price * scale))
    return [slots[start] for start in sorted(slots)]


async def _async_call(hass: HomeAssistant, domain: str, service: str, data: dict[str, Any]) -> Any:
    try:
        return await hass.services.async_call(
            domain, service, data, blocking=True, return_response=True
        )
    except Exception:  # the other integration's error (no data yet, no connection)
        LOGGER.debug("%s.%s failed", domain, service, exc_info=True)
        return None
