"""Trapezoidal integration of power samples into energy (pure; no Home Assistant)."""

from __future__ import annotations

from dataclasses import dataclass, field

WS_PER_KWH = 3_600_000.0


@dataclass
class EnergyIntegrator:
    """Accumulates kWh from (time, power) samples.

    Negative power counts as zero, so the total never decreases. A gap between two
    samples longer than ``max_gap_s`` (device unreachable, Home Assistant stopped) is not
    bridged: the next sample only starts a new segment.
    """

    max_gap_s: float
    total_kwh: float = 0.0
    _last_time: float | None = field(default=None, repr=False)
    _last_power: float = field(default=0.0, repr=False)

    def add(self, timestamp: float, power_w: float | None) -> bool:
        """Add one sample; return True when the total changed."""
        if power_w is None or not abs(power_w) <= MAX_PLAUSIBLE_POWER_W:
            # No value, or a garbled one: a gap, never integrated.
            self._last_time = None
            return False
        power = max(0.0, float(power_w))
        last_time, self._last_time = self._last_time, timestamp
        last_power, self._last_power = self._last_power, power
        if last_time is None:
            return False
        dt = timestamp - last_time
        if dt <= 0:
            # Same reading delivered twice: keep the first anchor.
            self._last_time, self._last_power = last_time, last_power
            return False
        if dt > self.max_gap_s:
            return False
        self.total_kwh += (last_power + power) / 2 * dt / WS_PER_KWH
        return True


# A home's power flows stay far below this; a device reporting more is reporting garbage.
MAX_PLAUSIBLE_POWER_W = 1_000_000.0


@dataclass
class CounterGuard:
    """Keeps an energy counter read from a device plausible before it reaches statistics.

    A counter (TOTAL_INCREASING) may only rise as fast as ``max_power_w`` allows, or drop
    to near zero (a reset: a new session, a meter cleared). Anything else (a garbled
    register, a bit error, a wrong value) would become a permanent spike in the long-term
    statistics, so it is held back and the last good value stays. Should the device keep
    reporting a consistent new level for ``confirm`` readings (meter replaced), that
    level is accepted.
    """

    max_power_w: float = MAX_PLAUSIBLE_POWER_W
    reset_below: float = 1.0  # a drop to less than this counts as a reset
    units_per_wh: float = 0.001  # kWh counters
    confirm: int = 3
    value: float | None = None
    _time: float | None = field(default=None, repr=False)
    _pending: list[tuple[float, float]] = field(default_factory=list, repr=False)

    def _plausible(self, old: float, old_time: float | None, new: float, time: float) -> bool:
        if new < 0:
            return False
        if new < old:
            return new < self.reset_below
        elapsed = max(time - old_time, 1.0) if old_time is not None else 3600.0
        limit = self.max_power_w * elapsed / 3600 * self.units_per_wh
        return new - old <= limit + self.reset_below

    def check(self, timestamp: float, new: float | None) -> float | None:
        """Return the value to show for the reading ``new`` taken at ``timestamp``."""
        if new is None:
            return None  # not available now; the last good value stays the reference
        if self.value is None or self._plausible(self.value, self._time, new, timestamp):
            self.value, self._time = new, timestamp
            self._pending.clear()
            return new
        pending = self._pending
        if pending and not self._plausible(pending[-1][1], pending[-1][0], new, timestamp):
            pending.clear()
        pending.append((timestamp, new))
        if len(pending) >= self.confirm:
            self.value, self._time = new, timestamp
            pending.clear()
        return self.value
