"""Residual current monitor: alarm edges, link state, events and what the interlock reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .compat import device_by_identifier
from .const import DOMAIN, EVENT_RCM_ALARM, EVENT_RCM_LINK, LOGGER
from .drivers.dctr import DctrData

if TYPE_CHECKING:
    from .coordinator import SolarWallboxCoordinator


@dataclass(frozen=True, slots=True)
class RcmEvent:
    """One event to fire: its type and data (without the device id)."""

    event_type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RcmState:
    """What the charging interlock needs: the latest alarm state and how old it is."""

    link_ok: bool
    alarm_a: bool | None
    alarm_b: bool | None
    bands: tuple[str, ...]
    measured_at: datetime | None
    changed_at: datetime | None

    @property
    def alarm(self) -> bool | None:
        """True while alarm A or B is raised; None before the first reading."""
        if self.alarm_a is None or self.alarm_b is None:
            return None
        return self.alarm_a or self.alarm_b


@dataclass
class RcmEdgeDetector:
    """Turns successive readings into events, once per edge.

    A lost link is its own state: it fires a "lost" event, keeps the last known alarm
    state (it is never taken for "no alarm"), and the first reading after it only fires
    an alarm event if the alarm state really changed meanwhile.
    """

    alarm_a: bool | None = None
    alarm_b: bool | None = None
    bands_a: tuple[str, ...] = ()
    bands_b: tuple[str, ...] = ()
    link_ok: bool | None = None
    measured_at: datetime | None = None
    changed_at: datetime | None = None

    def update(self, data: DctrData, now: datetime) -> list[RcmEvent]:
        """Process one successful reading."""
        events: list[RcmEvent] = []
        if self.link_ok is False:
            events.append(RcmEvent(EVENT_RCM_LINK, {"state": "restored"}))
        self.link_ok = True
        self.measured_at = now
        for name, raised, bands in (
            ("A", data.alarm_a, data.alarm_a_bands),
            ("B", data.alarm_b, data.alarm_b_bands),
        ):
            before = self.alarm_a if name == "A" else self.alarm_b
            old_bands = self.bands_a if name == "A" else self.bands_b
            if raised and not before:
                events.append(self._alarm(name, "raised", bands))
            elif before and not raised:
                events.append(self._alarm(name, "cleared", old_bands))
            if before != raised:
                self.changed_at = now
            if name == "A":
                self.alarm_a, self.bands_a = raised, bands
            else:
                self.alarm_b, self.bands_b = raised, bands
        return events

    def lost(self, now: datetime) -> list[RcmEvent]:
        """Process a failed poll: fire "lost" once, keep the alarm state."""
        if self.link_ok is False:
            return []
        first = self.link_ok is None
        self.link_ok = False
        self.changed_at = now
        if first:
            return []  # never connected yet: nothing was lost
        return [RcmEvent(EVENT_RCM_LINK, {"state": "lost"})]

    @staticmethod
    def _alarm(name: str, state: str, bands: tuple[str, ...]) -> RcmEvent:
        return RcmEvent(EVENT_RCM_ALARM, {"alarm": name, "state": state, "bands": list(bands)})

    def state(self) -> RcmState:
        """The current state for the interlock and the entities."""
        return RcmState(
            link_ok=bool(self.link_ok),
            alarm_a=self.alarm_a,
            alarm_b=self.alarm_b,
            bands=tuple(dict.fromkeys((*self.bands_a, *self.bands_b))),
            measured_at=self.measured_at,
            changed_at=self.changed_at,
        )


class RcmMonitor:
    """Listens to a DCTR coordinator and fires the events for each edge."""

    def __init__(
        self, hass: HomeAssistant, coordinator: SolarWallboxCoordinator[Any, DctrData]
    ) -> None:
        """Track ``coordinator``; call :meth:`start` to begin."""
        self.hass = hass
        self.coordinator = coordinator
        self.detector = RcmEdgeDetector()

    @callback
    def start(self) -> None:
        """Take the current reading and listen for the following ones."""
        self._handle_update()
        self.coordinator.config_entry.async_on_unload(
            self.coordinator.async_add_listener(self._handle_update)
        )

    @property
    def state(self) -> RcmState:
        """Latest alarm state with its timestamp."""
        return self.detector.state()

    @callback
    def _handle_update(self) -> None:
        coordinator = self.coordinator
        if coordinator.last_update_success and coordinator.data is not None:
            reading = coordinator.data
            events = self.detector.update(reading.data, reading.measured_at)
        else:
            events = self.detector.lost(coordinator.clock())
        if not events:
            return
        device_id = self._device_id()
        for event in events:
            LOGGER.info("Residual current monitor %s: %s", coordinator.config_entry.title, event)
            self.hass.bus.async_fire(event.event_type, {"device_id": device_id, **event.data})

    def _device_id(self) -> str | None:
        entry = self.coordinator.config_entry
        device = device_by_identifier(
            dr.async_get(self.hass), (DOMAIN, str(entry.unique_id)), entry.entry_id
        )
        return device.id if device else None
