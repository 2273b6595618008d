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
        if power_w is None:
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
