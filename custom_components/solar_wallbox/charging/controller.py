"""The surplus controller: one decision per fresh site reading (pure; no I/O, no clock).

Every input carries the time it was measured and ``decide`` gets the current time, so
the same inputs always give the same decision. The caller applies the decision's current
(when ``write`` is set) and reports a successful write with :meth:`record_write`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from .model import (
    ChargeMode,
    Decision,
    Lockout,
    RcmInput,
    Reason,
    Settings,
    SiteInput,
    UnknownTagPolicy,
    VehicleProfile,
    WallboxInput,
)

WH = 3600.0  # W·s per Wh


@dataclass(frozen=True, slots=True)
class Limits:
    """The current range and minimum power that apply to the connected vehicle."""

    min_current: int
    max_current: int
    mode: ChargeMode
    session_energy_limit: float
    min_charging_power: float  # W; 0 = derived from the minimum current


@dataclass(frozen=True, slots=True)
class _Info:
    """What a decision reports besides the current."""

    vehicle: str | None = None
    mode: ChargeMode | None = None
    available_power: float | None = None
    min_power: float | None = None
    power_per_amp: float | None = None
    phases: int | None = None


@dataclass
class _Session:
    """What the controller remembers about the current plug-in."""

    phases: int | None = None  # phases the car was seen drawing on


@dataclass
class SurplusController:
    """Decides the charging current from timestamped inputs."""

    settings: Settings
    setpoint: int = 0
    start_energy: float = 0.0  # Wh
    stop_energy: float = 0.0  # Wh
    starts_today: int = 0
    rcm_latched: bool = False
    rcm_latched_at: datetime | None = None
    rcm_alarm: str | None = None  # which alarm latched (or LOCKOUT_STATE_UNREADABLE)
    _day: date | None = None
    _last_site_at: datetime | None = None
    _last_wallbox_at: datetime | None = None
    _started_at: datetime | None = None
    _stopped_at: datetime | None = None
    _changed_at: datetime | None = None
    _last_written: int | None = None
    _written_at: datetime | None = None
    _ack_requested: bool = False
    _session: _Session = field(default_factory=_Session)

    # -- public API ---------------------------------------------------------------------

    def acknowledge_rcm(self) -> None:
        """The user acknowledges an RCM alarm; it unlatches once the alarm is gone."""
        self._ack_requested = True

    @property
    def lockout(self) -> Lockout:
        """The lockout as it must be remembered across restarts."""
        return Lockout(
            latched=self.rcm_latched,
            since=self.rcm_latched_at,
            alarm=self.rcm_alarm,
            acknowledged=self._ack_requested and self.rcm_latched,
        )

    def restore_lockout(self, lockout: Lockout) -> None:
        """Take over a remembered lockout (after a restart)."""
        self.rcm_latched = lockout.latched
        self.rcm_latched_at = lockout.since
        self.rcm_alarm = lockout.alarm
        self._ack_requested = lockout.acknowledged and lockout.latched

    @property
    def starts_day(self) -> date | None:
        """The day ``starts_today`` counts for (None before the first decision)."""
        return self._day

    @property
    def last_written(self) -> int | None:
        """The current written last (None before the first write)."""
        return self._last_written

    @property
    def stop_threshold(self) -> float:
        """The stop energy (Wh) a running session must collect before it stops: the option
        Stop energy, raised as the day's start budget is used up so that the last starts
        are not spent on short dips and the car is not locked out for the rest of the day
        (README.md, "Stop on energy"): × budget ÷ starts left, × 2 after half of them."""
        s = self.settings
        budget = s.daily_start_budget
        left = budget - self.starts_today
        if budget <= 0 or left >= budget:
            return s.stop_energy
        return s.stop_energy * budget / max(left, 1)

    def record_write(self, now: datetime, current: int) -> None:
        """The caller wrote ``current`` to the wallbox (and read it back)."""
        self._last_written = current
        self._written_at = now

    def restore(self, *, setpoint: int, now: datetime) -> None:
        """Continue a running session after a restart without an extra start/stop cycle."""
        self.setpoint = setpoint
        if setpoint > 0:
            self._started_at = now
            self._changed_at = now

    def restore_day(self, *, starts_today: int, day: date) -> None:
        """Restore the day's start count after a restart (for the daily start budget)."""
        self._day = day
        self.starts_today = starts_today

    def decide(
        self,
        now: datetime,
        site: SiteInput | None,
        wallbox: WallboxInput,
        rcm: RcmInput | None = None,
        *,
        today: date | None = None,
    ) -> Decision:
        """Return the current for the wallbox now."""
        s = self.settings
        self._roll_day(today or now.date())
        dt = self._site_dt(site)
        self._last_wallbox_at = wallbox.measured_at

        profile = s.profile_for(wallbox.rfid_tag) if wallbox.connected else None
        vehicle = profile.name if profile else (wallbox.rfid_tag if wallbox.connected else None)
        safety = self._safety(now, rcm)
        if safety is not None:
            return self._finish(now, 0, safety, wallbox, _Info(vehicle=vehicle))
        if not wallbox.connected:
            self._session = _Session()
            self.start_energy = self.stop_energy = 0.0
            idle = s.idle_current if s.idle_current >= s.min_current else 0
            idle = min(idle, wallbox.device_max_current or idle)
            return self._finish(now, idle, Reason.NO_VEHICLE, wallbox, _Info(), count_start=False)

        if wallbox.rfid_tag and profile is None and s.unknown_tag is UnknownTagPolicy.BLOCK:
            return self._finish(now, 0, Reason.VEHICLE_BLOCKED, wallbox, _Info(vehicle=vehicle))
        limits = self._limits(profile, wallbox)
        common = _Info(vehicle=vehicle, mode=limits.mode)
        if limits.mode is ChargeMode.OFF:
            return self._finish(now, 0, Reason.MODE_OFF, wallbox, common)
        if limits.max_current < limits.min_current:
            return self._finish(now, 0, Reason.VEHICLE_BLOCKED, wallbox, common)
        if (
            limits.session_energy_limit > 0
            and (wallbox.session_energy or 0) >= limits.session_energy_limit
        ):
            return self._finish(now, 0, Reason.SESSION_LIMIT, wallbox, common)
        if limits.mode is ChargeMode.FAST:
            return self._finish(now, limits.max_current, Reason.FAST, wallbox, common)
        if (
            s.initial_current > 0
            and wallbox.session_duration is not None
            and wallbox.session_duration < s.initial_duration
        ):
            current = min(max(s.initial_current, limits.min_current), limits.max_current)
            return self._finish(now, current, Reason.INITIAL_PHASE, wallbox, common)
        if site is None or (now - site.measured_at).total_seconds() > s.stale_timeout:
            current = limits.min_current if limits.mode is ChargeMode.MIN_PV else 0
            return self._finish(now, current, Reason.SITE_STALE, wallbox, common)
        return self._regulate(now, site, wallbox, limits, dt, vehicle)

    # -- the control law ----------------------------------------------------------------

    def _regulate(
        self,
        now: datetime,
        site: SiteInput,
        wallbox: WallboxInput,
        limits: Limits,
        dt: float,
        vehicle: str | None,
    ) -> Decision:
        s = self.settings
        phases = self._phases(wallbox)
        per_amp = s.voltage * phases
        min_power = limits.min_charging_power or limits.min_current * per_amp
        available, battery_help = self._available(site, wallbox)
        target = math.floor(available / per_amp)
        extra = _Info(
            vehicle=vehicle,
            mode=limits.mode,
            available_power=available,
            min_power=min_power,
            power_per_amp=per_amp,
            phases=phases,
        )

        if self.setpoint <= 0:
            if limits.mode is ChargeMode.MIN_PV:
                current = min(max(target, limits.min_current), limits.max_current)
                return self._finish(now, current, Reason.MIN_PV, wallbox, extra)
            # Paused (PV only): collect surplus energy above the minimum power, capped at
            # the threshold so that a long wait (minimum off time, start budget) never
            # stores energy that would start charging after the surplus has gone.
            rate = available - min_power
            self.start_energy = min(s.start_energy, max(0.0, self.start_energy + rate * dt / WH))
            countdown = (
                (s.start_energy - self.start_energy) * WH / rate
                if rate > 0 and self.start_energy < s.start_energy
                else None
            )
            # Start only while the surplus carries the minimum right now.
            if self.start_energy < s.start_energy or rate < 0:
                return self._finish(
                    now, 0, Reason.WAITING_FOR_SURPLUS, wallbox, extra, countdown=countdown
                )
            off_for = self._seconds_since(now, self._stopped_at)
            if off_for is not None and off_for < s.min_off_time:
                return self._finish(
                    now,
                    0,
                    Reason.MIN_OFF_TIME,
                    wallbox,
                    extra,
                    countdown=s.min_off_time - off_for,
                )
            if self.starts_today >= s.daily_start_budget:
                return self._finish(now, 0, Reason.START_BUDGET, wallbox, extra)
            current = min(max(target, limits.min_current), limits.max_current)
            self.start_energy = 0.0
            return self._finish(now, current, Reason.STARTING, wallbox, extra)

        # Charging: follow the surplus within [min, max].
        current = self.setpoint
        followed = self._followed(now, wallbox)
        # While the car still ramps to the last change, grid and wallbox readings taken a
        # moment apart disagree by up to half an ampere: only a larger gap is a real drop.
        margin = 0.0 if followed else per_amp / 2
        if (available + margin) / per_amp < current:
            # Reduce within one reading.
            current = max(math.floor((available + margin) / per_amp), limits.min_current)
        elif target > current and available >= (current + 1) * per_amp + s.hysteresis and followed:
            # The gate above holds the hysteresis; the new current uses all of the surplus
            # (it is reduced again only when the surplus falls below the car's draw).
            current = target
        current = min(max(current, limits.min_current), limits.max_current)

        if limits.mode is ChargeMode.MIN_PV:
            self.stop_energy = 0.0
            return self._finish(now, current, Reason.MIN_PV, wallbox, extra)

        deficit = min_power - (available + battery_help)
        # Capped at the threshold (as the start energy), and a stop needs a deficit now.
        threshold = self.stop_threshold
        self.stop_energy = min(threshold, max(0.0, self.stop_energy + deficit * dt / WH))
        if self.stop_energy <= 0:
            return self._finish(now, current, Reason.CHARGING_SURPLUS, wallbox, extra)
        on_for = self._seconds_since(now, self._started_at) or 0.0
        if self.stop_energy >= threshold and deficit > 0:
            if on_for < s.min_on_time:
                return self._finish(
                    now,
                    current,
                    Reason.MIN_ON_TIME,
                    wallbox,
                    extra,
                    countdown=s.min_on_time - on_for,
                )
            self.stop_energy = 0.0
            return self._finish(now, 0, Reason.STOPPING, wallbox, extra)
        countdown = (threshold - self.stop_energy) * WH / deficit if deficit > 0 else None
        reason = Reason.HOLDING_MIN if deficit > 0 else Reason.CHARGING_SURPLUS
        return self._finish(
            now,
            current,
            reason,
            wallbox,
            extra,
            countdown=countdown,
        )

    def _available(self, site: SiteInput, wallbox: WallboxInput) -> tuple[float, float]:
        """Power the car may draw (W), and what the battery may add to avoid a stop (W).

        Below the priority SoC the battery keeps its charging power (only real export goes
        to the car); at or above it, its charging power is offered to the car. A
        discharging battery always counts against the car. At or above the support SoC
        the battery may cover up to the support power so that a running session is not
        stopped (it never raises the current).
        """
        s = self.settings
        available = wallbox.power - site.grid_power - s.grid_target
        battery, soc = site.battery_power, site.battery_soc
        if battery is None:
            return available, 0.0
        if battery < 0 or (soc is not None and soc >= s.priority_soc):
            available += battery
        support = s.battery_support_power if soc is not None and soc >= s.support_soc else 0.0
        return available, support

    def _phases(self, wallbox: WallboxInput) -> int:
        if wallbox.power > 100 and wallbox.active_phases > 0:
            self._session.phases = wallbox.active_phases
        return self._session.phases or self.settings.phases

    def _followed(self, now: datetime, wallbox: WallboxInput) -> bool:
        """Has the car followed the last change (or had enough time to)?

        Followed means: a wallbox reading taken at least ``settle_time`` after the change
        shows the car drawing the new current (within the tolerance).
        """
        s = self.settings
        if self._changed_at is None or self.setpoint <= 0:
            return True
        if (now - self._changed_at).total_seconds() >= s.follow_timeout:
            return True
        settled = (wallbox.measured_at - self._changed_at).total_seconds() >= s.settle_time
        drawn = max(wallbox.currents)
        return settled and abs(drawn - self.setpoint) <= s.follow_tolerance

    def _limits(self, profile: VehicleProfile | None, wallbox: WallboxInput) -> Limits:
        s = self.settings
        low = profile.min_current if profile and profile.min_current else s.min_current
        high = profile.max_current if profile and profile.max_current else s.max_current
        low = max(low, wallbox.device_min_current or low)
        high = min(high, s.max_current, wallbox.device_max_current or high)
        return Limits(
            min_current=low,
            max_current=high,
            mode=(profile.mode if profile and profile.mode else s.mode),
            # The setting (the "Session energy limit" number) applies to the running session
            # whatever the vehicle; 0 leaves the vehicle profile's own limit.
            session_energy_limit=(
                s.session_energy_limit or (profile.session_energy_limit if profile else 0.0)
            ),
            min_charging_power=(
                profile.min_charging_power
                if profile and profile.min_charging_power
                else s.min_charging_power
            ),
        )

    # -- safety -------------------------------------------------------------------------

    def _safety(self, now: datetime, rcm: RcmInput | None) -> Reason | None:
        if rcm is None:
            return None
        if rcm.alarm:
            if not self.rcm_latched or self.rcm_latched_at is None:
                self.rcm_latched_at = now
            self.rcm_latched = True
            self.rcm_alarm = rcm.detail or self.rcm_alarm
            self._ack_requested = False
            return Reason.RCM_ALARM
        stale = (
            not rcm.link_ok
            or rcm.measured_at is None
            or (now - rcm.measured_at).total_seconds() > self.settings.stale_timeout
        )
        if stale:
            return Reason.RCM_STALE
        if self.rcm_latched:
            if not self._ack_requested:
                return Reason.RCM_LATCHED
            self.rcm_latched = False
            self.rcm_latched_at = None
            self.rcm_alarm = None
            self._ack_requested = False
        return None

    # -- bookkeeping --------------------------------------------------------------------

    def _site_dt(self, site: SiteInput | None) -> float:
        """Seconds since the previous site reading; 0 for a reading seen before."""
        if site is None:
            return 0.0
        last, self._last_site_at = self._last_site_at, site.measured_at
        if last is None or site.measured_at <= last:
            if last is not None and site.measured_at < last:
                self._last_site_at = last
            return 0.0
        return min((site.measured_at - last).total_seconds(), self.settings.stale_timeout)

    def _roll_day(self, today: date) -> None:
        if self._day != today:
            self._day = today
            self.starts_today = 0

    @staticmethod
    def _seconds_since(now: datetime, then: datetime | None) -> float | None:
        return None if then is None else (now - then).total_seconds()

    def _finish(
        self,
        now: datetime,
        current: int,
        reason: Reason,
        wallbox: WallboxInput,
        info: _Info,
        *,
        count_start: bool = True,
        countdown: float | None = None,
    ) -> Decision:
        previous = self.setpoint
        started = previous <= 0 < current and count_start
        stopped = current <= 0 < previous
        if started:
            self.starts_today += 1
            self._started_at = now
        if stopped:
            self._stopped_at = now
        if current != previous:
            self._changed_at = now
        if current <= 0:
            self.stop_energy = 0.0
        self.setpoint = current
        overwritten = (
            self._written_at is not None
            and wallbox.measured_at > self._written_at
            and wallbox.current_limit is not None
            and wallbox.current_limit != self._last_written
        )
        refresh_due = (
            self._written_at is None
            or (now - self._written_at).total_seconds() >= self.settings.refresh_interval
        )
        write = current != self._last_written or overwritten or refresh_due
        return Decision(
            current=current,
            reason=reason,
            write=write,
            available_power=info.available_power,
            min_power=info.min_power,
            power_per_amp=info.power_per_amp,
            phases=info.phases,
            countdown=countdown,
            start_energy=self.start_energy,
            stop_energy=self.stop_energy,
            vehicle=info.vehicle,
            mode=info.mode,
            starts_today=self.starts_today,
            started=started,
            stopped=stopped,
            overwritten=overwritten,
        )
