"""Writing the raw measurement log: lines from driver readings, gzip files (no Home Assistant).

This module turns PAC2200 and DCTR readings into lines in the original tool's format and
writes the files: one gzip member per file, a zlib sync flush after every batch (readable
up to there without trailer), the trailer on close. Blocking: :mod:`.rawlog` runs it in
the executor.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, Final

from .const import DeviceType
from .drivers.dctr import BANDS, DctrData, band_bit
from .drivers.pac2200 import Pac2200Data

FILE_PREFIXES: Final[dict[DeviceType, str]] = {
    DeviceType.PAC2200: "pac2200log",
    DeviceType.DCTR: "rcmlog",
}
"""Device types with a raw log, and the prefix of their file names."""

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
"""PAC2200 log field → ``Pac2200Data`` attribute, in the log's field order (``update``
first; the same order as ``streamlog.PAC2200_FIELDS``, which tests check)."""

# gzip header as the original wrote it: deflate, no flags, mtime 0, best compression, OS unknown.
GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def pac2200_record(update: int, data: Pac2200Data) -> dict[str, Any]:
    """One PAC2200 log line as an object (field order of the original)."""
    record: dict[str, Any] = {"update": update}
    for field, attribute in PAC2200_LOG_FIELDS.items():
        record[field] = getattr(data, attribute)
    return record


def _bands(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(BANDS, values, strict=True))


def _flags(bitfield: int) -> dict[str, bool]:
    return {band: bool(bitfield & band_bit(band)) for band in BANDS}


def rcm_record(update: int, data: DctrData) -> dict[str, Any]:
    """One residual-current log line as an object (field order of the original)."""
    return {
        "update": update,
        "validity": data.validity,
        "f_i": _bands(data.residual_current),
        "raised_alarm_a": _flags(data.alarm_a_raw),
        "raised_alarm_b": _flags(data.alarm_b_raw),
        "thresholds_a": _bands(data.thresholds_a),
        "activated_alarms_a": _flags(data.enabled_a_raw),
        "thresholds_b": _bands(data.thresholds_b),
        "activated_alarms_b": _flags(data.enabled_b_raw),
        "alarm_delay": data.alarm_delay,
    }


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def encode_line(record: Mapping[str, Any]) -> bytes:
    """Compact JSON and a newline, like the original (non-finite numbers become null)."""
    clean = {key: _finite(value) for key, value in record.items()}
    return json.dumps(clean, separators=(",", ":"), allow_nan=False).encode() + b"\n"


@dataclass(frozen=True, slots=True)
class Sample:
    """One line to write: when it was measured, its local day and the reading."""

    update: int
    day: date
    data: Any


def encoder(device_type: DeviceType) -> Callable[[Sample], bytes]:
    """The line encoder for the readings of ``device_type`` (PAC2200 or DCTR)."""
    if device_type is DeviceType.PAC2200:
        return lambda s: encode_line(pac2200_record(s.update, s.data))
    return lambda s: encode_line(rcm_record(s.update, s.data))


class GzipLogWriter:
    """Writes gzip NDJSON log files; not thread-safe: one job at a time (executor).

    Each file is one gzip member; :meth:`write` ends with a sync flush (readable up to
    there without trailer); :meth:`close` writes the trailer.
    """

    def __init__(self, directory: Path, prefix: str, encode: Callable[[Sample], bytes]) -> None:
        """Write ``<directory>/<prefix>-<unix>.json.gz`` files with lines from ``encode``."""
        self.directory = directory
        self.prefix = prefix
        self._encode = encode
        self.path: Path | None = None
        self.day: date | None = None
        self._file: IO[bytes] | None = None
        self._compressor: Any = None
        self._crc = 0
        self._size = 0

    def open(self, start: int, day: date) -> Path:
        """Start a new file named after ``start`` (unix seconds; the next free number)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        number = start
        while True:
            path = self.directory / f"{self.prefix}-{number}.json.gz"
            try:
                handle = path.open("xb")
            except FileExistsError:
                number += 1
                continue
            break
        self._file, self.path, self.day = handle, path, day
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        handle.write(GZIP_HEADER)
        handle.flush()
        return path

    def write(self, samples: Sequence[Sample]) -> None:
        """Append lines (a new file when the day changes), then sync flush to disk."""
        for sample in samples:
            if self._file is None or sample.day != self.day:
                self._finish()
                self.open(sample.update, sample.day)
            line = self._encode(sample)
            self._crc = zlib.crc32(line, self._crc)
            self._size += len(line)
            assert self._file is not None
            self._file.write(self._compressor.compress(line))
        self.sync()

    def sync(self) -> None:
        """Sync flush: everything written so far becomes readable and reaches the disk."""
        if self._file is None:
            return
        self._file.write(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()
        os.fsync(self._file.fileno())
        if os.fstat(self._file.fileno()).st_nlink == 0:
            raise FileNotFoundError(2, "the log file was removed", str(self.path))

    def close(self, samples: Sequence[Sample] = ()) -> None:
        """Write the last ``samples`` and finish the file with a proper gzip trailer."""
        if samples:
            self.write(samples)
        self._finish()

    def _finish(self) -> None:
        if self._file is None:
            return
        handle, self._file = self._file, None
        try:
            handle.write(self._compressor.flush(zlib.Z_FINISH))
            handle.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()

    def abandon(self) -> None:
        """Close the file without trailer after an error (errors ignored)."""
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
