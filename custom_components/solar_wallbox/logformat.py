"""The measurement-log format: the one place that says what a log file contains.

The original tool's ``--log-to`` format, kept exactly so its tools and ours read both
(README "Measurement logs"): gzip of NDJSON, one JSON object per line, sync-flushed, usually
without a gzip trailer. The writer (:mod:`.logwriter`), the decoder (:mod:`.streamlog`),
and the action (:mod:`.services`) take these facts from here.

Standard library only (of this package it imports only the band names,
``drivers/dctr_bands.py``, standard library only too): :mod:`.streamlog` imports this module
and must run without Home Assistant and pymodbus
(``python -m custom_components.solar_wallbox.streamlog``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from .drivers.dctr_bands import BANDS

# --- files ------------------------------------------------------------------------------

GZIP_MAGIC: Final = b"\x1f\x8b"
"""How every gzip member starts (RFC 1952), ours and those of other writers."""

GZIP_HEADER: Final = GZIP_MAGIC + b"\x08\x00\x00\x00\x00\x00\x02\xff"
"""The header we write, as the original wrote it: deflate, no flags, mtime 0, best
compression, OS unknown. One member per file; readers accept any gzip header."""

COMPRESSION_LEVEL: Final = 9
"""Deflate level of the body: best compression, as the header's flags say."""

PAC2200_FILE_PREFIX: Final = "pac2200log"
RCM_FILE_PREFIX: Final = "rcmlog"
"""File name prefixes. The original named both kinds ``pac2200log``, so readers tell the
kinds apart by content (:func:`line_kind`), never by name."""


def file_name(prefix: str, number: int) -> str:
    """The name of a log file: ``<prefix>-<number>.json.gz`` (number: unix seconds)."""
    return f"{prefix}-{number}.json.gz"


# --- lines ------------------------------------------------------------------------------

UPDATE: Final = "update"
"""First field of every line: when the reading was taken (unix seconds)."""

PAC2200_LOG_FIELDS: Final[dict[str, str]] = {
    "u_l1": "voltage_l1_n",
    "u_l2": "voltage_l2_n",
    "u_l3": "voltage_l3_n",
    "u_l1l2": "voltage_l1_l2",
    "u_l2l3": "voltage_l2_l3",
    "u_l1l3": "voltage_l3_l1",
    "i_l1": "current_l1",
    "i_l2": "current_l2",
    "i_l3": "current_l3",
    "pva_l1": "apparent_power_l1",
    "pva_l2": "apparent_power_l2",
    "pva_l3": "apparent_power_l3",
    "p_l1": "active_power_l1",
    "p_l2": "active_power_l2",
    "p_l3": "active_power_l3",
    "pvar_l1": "reactive_power_l1",
    "pvar_l2": "reactive_power_l2",
    "pvar_l3": "reactive_power_l3",
    "pf_l1": "power_factor_l1",
    "pf_l2": "power_factor_l2",
    "pf_l3": "power_factor_l3",
    "frequency": "frequency",
    "u_avg_ln": "voltage_avg_ln",
    "u_avg_ll": "voltage_avg_ll",
    "i_avg": "current_avg",
    "p_avg": "apparent_power_total",  # sic: the original's name for register 63
    "pva_avg": "active_power_total",  # sic: the original's name for register 65
    "pvar_avg": "reactive_power_total",
    "pf_tot": "power_factor_total",
    "i_n": "current_neutral",
}
"""PAC2200 line fields after ``update``, in the original tool's order → the quantity each
holds (the attribute of ``drivers.pac2200.Pac2200Data``; register map: docs/devices.md §3).

``p_avg`` holds the total *apparent* power and ``pva_avg`` the total *active* power: the
original tool swapped the two names, and its logs (and ours, for compatibility) keep that.
"""

PAC2200_FIELDS: Final[tuple[str, ...]] = (UPDATE, *PAC2200_LOG_FIELDS)
"""Fields of a PAC2200 line, in order."""

RCM_BANDS: Final[tuple[str, ...]] = BANDS
"""Residual-current bands: the keys of a line's band objects, in their order.

The original tool wrote the DCTR's bands under the driver's names, in register order
(docs/devices.md §4); the driver's table (``drivers/dctr_bands.py``) is used as it is, so
the writer needs no translation and the driver cannot drift from the log.
"""


class RcmValue(Enum):
    """How an RCM field holds its value."""

    NUMBER = "number"
    """The device's value as it is."""
    PER_BAND = "per band"
    """An object ``{band: number}`` from eight values in `RCM_BANDS` order."""
    FLAG_PER_BAND = "flag per band"
    """An object ``{band: bool}`` from a bitfield (a band's bit: docs/devices.md §4)."""


RCM_LOG_FIELDS: Final[dict[str, tuple[str, RcmValue]]] = {
    "validity": ("validity", RcmValue.NUMBER),
    "f_i": ("residual_current", RcmValue.PER_BAND),
    "raised_alarm_a": ("alarm_a_raw", RcmValue.FLAG_PER_BAND),
    "raised_alarm_b": ("alarm_b_raw", RcmValue.FLAG_PER_BAND),
    "thresholds_a": ("thresholds_a", RcmValue.PER_BAND),
    "activated_alarms_a": ("enabled_a_raw", RcmValue.FLAG_PER_BAND),
    "thresholds_b": ("thresholds_b", RcmValue.PER_BAND),
    "activated_alarms_b": ("enabled_b_raw", RcmValue.FLAG_PER_BAND),
    "alarm_delay": ("alarm_delay", RcmValue.NUMBER),
}
"""Residual-current line fields after ``update``, in the original tool's order → the
attribute of ``drivers.dctr.DctrData`` each holds, and how."""

RCM_FIELDS: Final[tuple[str, ...]] = (UPDATE, *RCM_LOG_FIELDS)
"""Fields of a residual-current line, in order."""

RCM_BAND_FIELDS: Final[tuple[str, ...]] = tuple(
    field for field, (_, value) in RCM_LOG_FIELDS.items() if value is not RcmValue.NUMBER
)
"""Residual-current fields holding one value per band (an object keyed by band name)."""

PAC2200: Final = "pac2200"
RCM: Final = "rcm"
"""The two kinds of line."""


def line_kind(record: Mapping[str, Any]) -> str | None:
    """`RCM`, `PAC2200` or None, by content (the original's RCM files had the PAC2200 name)."""
    if "f_i" in record:
        return RCM
    if "u_l1" in record or "frequency" in record:
        return PAC2200
    return None


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One line: compact JSON and a newline, like the original (non-finite numbers: null)."""
    clean = {key: _finite(value) for key, value in record.items()}
    return json.dumps(clean, separators=(",", ":"), allow_nan=False).encode() + b"\n"


# --- decoded output ---------------------------------------------------------------------

FORMATS: Final = ("raw", "ndjson")
"""Output formats of the decoder: ``raw`` the decoded bytes unchanged (a partial last line
included), ``ndjson`` only the complete lines that are JSON objects."""
