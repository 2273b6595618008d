"""The Doepke DCTR's residual-current bands (standard library only).

A module of its own because the measurement-log format (``logformat.py``) keys its band
objects by these names and must be importable without pymodbus, which ``dctr.py`` needs
(through ``modbus.py``). The rest of the register map stays in ``dctr.py``
(docs/devices.md §4).
"""

from __future__ import annotations

from typing import Final

BANDS: Final[tuple[str, ...]] = (
    "dc",
    "ac_total",
    "ac_50hz",
    "ac_lt100hz",
    "ac_150hz",
    "ac_100hz_1khz",
    "ac_gt1khz",
    "ac_gt10khz",
)
"""Band names in register order (1..8) and threshold order.

The original tool's names, in its logs too: renaming one changes the log format and the
entities' unique ids.
"""

# Band labels shown to users (entity names, the logbook): the same in every language.
BAND_LABELS: dict[str, str] = {
    "dc": "DC",
    "ac_total": "AC",
    "ac_50hz": "AC 50 Hz",
    "ac_lt100hz": "AC <100 Hz",
    "ac_150hz": "AC 150 Hz",
    "ac_100hz_1khz": "AC 100 Hz–1 kHz",
    "ac_gt1khz": "AC >1 kHz",
    "ac_gt10khz": "AC >10 kHz",
}
