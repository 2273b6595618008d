"""Writing the raw measurement log: lines from driver readings, gzip files (no Home Assistant).

What a file and a line contain is :mod:`.logformat`'s; this module turns PAC2200 and DCTR
readings into those lines and writes the files: one gzip member per file, a zlib sync flush
after every batch (readable up to there without trailer), the trailer on close. Blocking:
:mod:`.rawlog` runs it in the executor.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, Final

from .const import DeviceType
from .drivers.dctr import DctrData, band_bit
from .drivers.pac2200 import Pac2200Data
from .logformat import (
    COMPRESSION_LEVEL,
    GZIP_HEADER,
    PAC2200_FILE_PREFIX,
    PAC2200_LOG_FIELDS,
    RCM_BANDS,
    RCM_FILE_PREFIX,
    RCM_LOG_FIELDS,
    UPDATE,
    RcmValue,
    encode_line,
    file_name,
)

FILE_PREFIXES: Final[dict[DeviceType, str]] = {
    DeviceType.PAC2200: PAC2200_FILE_PREFIX,
    DeviceType.DCTR: RCM_FILE_PREFIX,
}
"""Device types with a raw log, and the prefix of their file names."""


def pac2200_record(update: int, data: Pac2200Data) -> dict[str, Any]:
    """One PAC2200 log line as an object (field order of the original)."""
    record: dict[str, Any] = {UPDATE: update}
    for field, attribute in PAC2200_LOG_FIELDS.items():
        record[field] = getattr(data, attribute)
    return record


def _per_band(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(RCM_BANDS, values, strict=True))


def _flag_per_band(bitfield: int) -> dict[str, bool]:
    return {band: bool(bitfield & band_bit(band)) for band in RCM_BANDS}


def rcm_record(update: int, data: DctrData) -> dict[str, Any]:
    """One residual-current log line as an object (field order of the original)."""
    record: dict[str, Any] = {UPDATE: update}
    for field, (attribute, value) in RCM_LOG_FIELDS.items():
        raw = getattr(data, attribute)
        if value is RcmValue.PER_BAND:
            record[field] = _per_band(raw)
        elif value is RcmValue.FLAG_PER_BAND:
            record[field] = _flag_per_band(raw)
        else:
            record[field] = raw
    return record


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
            path = self.directory / file_name(self.prefix, number)
            try:
                handle = path.open("xb")
            except FileExistsError:
                number += 1
                continue
            break
        self._file, self.path, self.day = handle, path, day
        self._compressor = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
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
