"""Decoder for the measurement logs of the original tool (and of our raw logger).

The logs are gzip'd NDJSON, sync-flushed every few seconds and usually **without** a gzip
trailer (the writing process was killed), so every log is an incomplete gzip stream that
can be read up to its last flush. This module decodes such files:

- every gzip member of a file (a complete member may be followed by an incomplete one);
- a stream without trailer is *truncated*: everything decodable is kept, it is no error;
- a corrupt stream keeps everything decoded before the damage and reports the error (the
  output is salvaged byte by byte up to the damage);
- empty and non-gzip files are per-file errors, later files are still decoded;
- output is written exactly as produced (never stale buffer bytes), to a temporary file
  that replaces the target at the end;
- memory stays bounded: input is read in chunks, output limited per step, lines are split
  incrementally with a length cap.

Every complete line is checked to be a JSON object; the others are counted as invalid and
make the file's error ``corrupt: …`` (damage that zlib cannot detect without the trailer's
checksum shows up this way; the output is still written).
``format="raw"`` writes the decoded bytes unchanged (a partial last line included);
``format="ndjson"`` writes only the complete, valid lines.
An optional SQLite import puts PAC2200 lines into the table ``pac2200`` (one column per
field, ``update`` stored as ``timestamp``) and residual-current lines into ``rcm`` (the
band objects flattened into ``<field>_<band>`` columns).

What the logs contain (fields, bands, gzip header, output formats) is defined in
:mod:`.logformat`. This module imports only the standard library and that module (itself
standard library only), so it runs without Home Assistant and pymodbus, from the directory
that contains ``custom_components``:
``python -m custom_components.solar_wallbox.streamlog decompress FILE...``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import glob
import json
import logging
import os
import secrets
import sqlite3
import stat
import sys
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

from .logformat import (
    FORMATS,
    GZIP_MAGIC,
    PAC2200,
    PAC2200_LOG_FIELDS,
    RCM,
    RCM_BANDS,
    RCM_LOG_FIELDS,
    UPDATE,
    RcmValue,
    line_kind,
)

_LOGGER = logging.getLogger(__name__)

READ_CHUNK: Final = 64 * 1024
"""Input bytes read and fed to zlib per step."""
OUTPUT_STEP: Final = 256 * 1024
"""Most output bytes zlib may produce per step (bounds memory even for extreme ratios)."""
MAX_LINE_BYTES: Final = 1024 * 1024
"""Longer lines are not kept in memory for parsing; they count as invalid."""
PROGRESS_MIN_BYTES: Final = 64 * 1024 * 1024
"""Files at least this large get an INFO log line at every tenth of their input."""
SQLITE_BATCH: Final = 1000


# --- decoding -------------------------------------------------------------------------


class GzipStreamDecoder:
    """Incremental decoder of all gzip members of one file, tolerant of a missing trailer.

    Feed input with :meth:`feed` (yields decoded pieces), then call :meth:`finish`.
    ``error`` is set for a non-gzip start, corrupt data, or non-gzip data after a member
    (zero padding after a member is ignored, like gzip does).
    """

    def __init__(self) -> None:
        """Start before the first member."""
        self.members = 0
        self.truncated = False
        self.error: str | None = None
        self.bytes_fed = 0
        self._member: Any = None  # zlib decompress object of the current member
        self._head = b""  # first byte of a member when only one was available
        self._padding = False  # inside zero bytes after a complete member
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """True after an error: further input is ignored."""
        return self._stopped

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data``; yields the output pieces (each at most ``OUTPUT_STEP`` bytes)."""
        self.bytes_fed += len(data)
        while data and not self._stopped:
            if self._member is None:
                data = self._head + data
                self._head = b""
                if self._padding or (data[0] == 0 and self.members):
                    data = self._skip_padding(data)
                    continue
                if len(data) < len(GZIP_MAGIC):
                    self._head = data
                    return
                if data[: len(GZIP_MAGIC)] != GZIP_MAGIC:
                    self._fail(
                        "not gzip"
                        if self.members == 0
                        else f"data after gzip member {self.members} is not gzip"
                    )
                    return
                self._member = zlib.decompressobj(wbits=31)
                self.members += 1
            data = yield from self._inflate(data)

    def _skip_padding(self, data: bytes) -> bytes:
        stripped = data.lstrip(b"\x00")
        self._padding = not stripped
        if stripped:
            self._fail(f"data after gzip member {self.members} is not gzip")
        return b""

    def _inflate(self, data: bytes) -> Generator[bytes, None, bytes]:
        """Feed the current member; returns the input left after its end (if it ended)."""
        member = self._member
        while True:
            saved = member.copy()
            try:
                out = member.decompress(data, OUTPUT_STEP)
            except zlib.error as err:
                yield from self._salvage(saved, data)
                self._fail(f"corrupt: {err}")
                return b""
            if out:
                yield out
            if member.eof:
                self._member = None
                rest: bytes = member.unused_data
                return rest
            data = member.unconsumed_tail
            if not data and len(out) < OUTPUT_STEP:
                return b""

    @staticmethod
    def _salvage(member: Any, data: bytes) -> Iterator[bytes]:
        """Re-feed ``data`` byte by byte to keep the output produced before the damage."""
        for index in range(len(data)):
            piece = data[index : index + 1]
            try:
                while True:
                    out = member.decompress(piece, OUTPUT_STEP)
                    if out:
                        yield out
                    piece = member.unconsumed_tail
                    if member.eof or (not piece and len(out) < OUTPUT_STEP):
                        break
            except zlib.error:
                return

    def _fail(self, message: str) -> None:
        self.error = message
        self._stopped = True
        self._member = None

    def finish(self) -> None:
        """End of input: sets ``truncated`` (a member without its end) or ``error``."""
        if self._stopped:
            return
        if self._head:
            self._fail(
                "not gzip"
                if self.members == 0
                else f"data after gzip member {self.members} is not gzip"
            )
            return
        if self.bytes_fed == 0:
            self._fail("empty")
            return
        if self._member is not None:
            # Every output step was drained while feeding: nothing is left inside zlib.
            self.truncated = True
            self._member = None


# --- lines, validation and SQLite -------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _band_values(value: Any) -> list[Any]:
    """One value per band from an object keyed by band (or a list in band order)."""
    if isinstance(value, dict):
        return [value.get(band) for band in RCM_BANDS]
    if isinstance(value, list):
        return [value[i] if i < len(value) else None for i in range(len(RCM_BANDS))]
    return [None] * len(RCM_BANDS)


def _columns(field: str, value: RcmValue) -> tuple[str, ...]:
    if value is RcmValue.NUMBER:
        return (field,)
    return tuple(f"{field}_{band}" for band in RCM_BANDS)


PAC2200_COLUMNS: Final[tuple[str, ...]] = ("timestamp", *PAC2200_LOG_FIELDS)
RCM_COLUMNS: Final[tuple[str, ...]] = (
    "timestamp",
    *(column for field, (_, value) in RCM_LOG_FIELDS.items() for column in _columns(field, value)),
)
"""Table columns: ``update`` stored as ``timestamp``, band objects flattened."""


def pac2200_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """Column values of a PAC2200 line (``PAC2200_COLUMNS`` order)."""
    return (_integer(record.get(UPDATE)), *(_number(record.get(f)) for f in PAC2200_LOG_FIELDS))


def rcm_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """Column values of an RCM line (``RCM_COLUMNS`` order); booleans become 0/1."""
    values: list[Any] = [_integer(record.get(UPDATE))]
    for field, (_, value) in RCM_LOG_FIELDS.items():
        if value is RcmValue.NUMBER:
            values.append(_integer(record.get(field)))
        else:
            values.extend(_integer(v) for v in _band_values(record.get(field)))
    return tuple(values)


# --- safe files and limits --------------------------------------------------------------
#
# Paths are checked when a call is planned (plan_jobs: resolved, allowlisted, no conflicts)
# and again when each file is opened: every directory on the way is opened one component
# at a time with O_NOFOLLOW, so a symbolic link that appears after the check (a folder
# swapped for a link to elsewhere while an earlier file decodes) is refused, not followed.
# Inputs must be regular files (opened with O_NONBLOCK: a FIFO can never block the call).
# Outputs are written under a temporary name in their opened directory and put in place at
# the end: linked when nothing may be replaced (atomic: of two calls writing one file, one
# fails), renamed over the target with overwrite.


class UnsafePath(OSError):
    """A path refused when it was opened (a symbolic link on the way, not a regular file)."""


class OutputExists(OSError):
    """The output appeared while the call ran and overwrite is off."""


class LimitReached(Exception):
    """A limit of the call was reached: decoding stops, what is complete is kept."""

    def __init__(self, limit: str) -> None:
        """``limit``: max_output, max_seconds, max_lines or disk_reserve."""
        super().__init__(limit)
        self.limit = limit


class DecodeCancelled(Exception):
    """The caller cancelled: nothing of the file being decoded is kept."""


def printable(value: object) -> str:
    """``value`` as text with control characters escaped (file names in logs and errors)."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in str(value)
    )


_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NAME_MAX: Final = 255
PATH_MAX: Final = 4000


def _open_at(name: str, flags: int, dir_fd: int, path: Path, mode: int = 0o644) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    except OSError as err:
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            is_link = False
        if is_link:
            raise UnsafePath(errno.ELOOP, "a symbolic link is on the way", printable(path)) from err
        raise


def open_directory(path: Path, *, create: bool = False) -> int:
    """The directory ``path`` (absolute), opened without following any symbolic link on
    the way; with ``create`` missing directories are made. The caller closes the fd."""
    if not path.is_absolute():
        raise ValueError(f"not an absolute path: {printable(path)}")
    fd = os.open("/", _DIRECTORY_FLAGS)
    try:
        for part in path.parts[1:]:
            try:
                child = _open_at(part, _DIRECTORY_FLAGS, fd, path)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                child = _open_at(part, _DIRECTORY_FLAGS, fd, path)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_input(path: Path) -> BinaryIO:
    """``path`` opened for reading: a regular file reached without symbolic links."""
    dir_fd = open_directory(path.parent)
    try:
        fd = _open_at(path.name, os.O_RDONLY | os.O_NONBLOCK, dir_fd, path)
    finally:
        os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(errno.EINVAL, "not a regular file", printable(path))
    return os.fdopen(fd, "rb")


class OutputFile:
    """One output, written under a temporary name in its checked directory."""

    def __init__(self, target: Path) -> None:
        """Open the target's directory (made if missing) and create the temporary file."""
        self.target = target
        self.dir_fd = open_directory(target.parent, create=True)
        try:
            self._temporary = f".{target.name[:100]}.{secrets.token_hex(4)}.partial"
            fd = _open_at(
                self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.dir_fd, target
            )
        except BaseException:
            os.close(self.dir_fd)
            raise
        self.file: BinaryIO = os.fdopen(fd, "wb")

    def free_bytes(self) -> int:
        """Free space for unprivileged writers on the output's file system."""
        info = os.statvfs(self.dir_fd)
        return info.f_bavail * info.f_frsize

    def commit(self, *, overwrite: bool) -> None:
        """Put the file in place; OutputExists if the target exists and overwrite is off."""
        try:
            self.file.close()
            names = {"src_dir_fd": self.dir_fd, "dst_dir_fd": self.dir_fd}
            name = self.target.name
            if overwrite:
                os.replace(self._temporary, name, **names)
                return
            try:
                os.link(self._temporary, name, **names, follow_symlinks=False)
            except FileExistsError as err:
                raise OutputExists(errno.EEXIST, "output exists", printable(self.target)) from err
            except OSError as err:
                if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                # No hard links on this file system (FAT, some network shares): claim the
                # name exclusively, then move the finished file over the claim.
                try:
                    os.close(
                        _open_at(
                            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.dir_fd, self.target
                        )
                    )
                except FileExistsError as exists:
                    raise OutputExists(
                        errno.EEXIST, "output exists", printable(self.target)
                    ) from exists
                os.replace(self._temporary, name, **names)
                return
            os.unlink(self._temporary, dir_fd=self.dir_fd)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the temporary file (if still there) and close everything."""
        if self.dir_fd < 0:
            return
        self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temporary, dir_fd=self.dir_fd)
        os.close(self.dir_fd)
        self.dir_fd = -1


# The automatic output limit: 200 × the input (real logs: PAC2200 about 3 ×, DCTR about
# 60 ×; a gzip bomb about 1000 ×), at least 64 MiB, at most 1 GiB.
AUTO_OUTPUT_RATIO: Final = 200
AUTO_OUTPUT_FLOOR: Final = 64 * 1024 * 1024
AUTO_OUTPUT_CAP: Final = 1024 * 1024 * 1024
DEFAULT_MAX_SECONDS: Final = 600.0
DEFAULT_MAX_LINES: Final = 20_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call may use. Exceeding one stops it; what is complete is kept."""

    max_output: int | None = None  # bytes written (files and database growth); None: auto
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_lines: int = DEFAULT_MAX_LINES
    disk_reserve: int = 256 * 1024 * 1024  # never write while less is free

    def output_limit(self, input_bytes: int) -> int:
        """The largest output: as set, or automatic (see ``AUTO_OUTPUT_*``)."""
        if self.max_output is not None:
            return self.max_output
        return min(AUTO_OUTPUT_CAP, max(AUTO_OUTPUT_FLOOR, AUTO_OUTPUT_RATIO * input_bytes))


class Budget:
    """What is left of one call's limits; checked between decoded pieces."""

    def __init__(
        self,
        limits: Limits,
        input_bytes: int,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start the clock for a call that reads ``input_bytes`` in all."""
        self.limits = limits
        self.output_limit = limits.output_limit(input_bytes)
        self.cancel = cancel or threading.Event()
        self._clock = clock
        self._deadline = clock() + limits.max_seconds
        self.bytes_out = 0  # written by finished files and the database
        self.lines = 0  # of finished files

    def check(self, output: OutputFile | None) -> None:
        """Raise DecodeCancelled or LimitReached (time, free disk) before the next piece."""
        if self.cancel.is_set():
            raise DecodeCancelled
        if self._clock() > self._deadline:
            raise LimitReached("max_seconds")
        if output is not None and output.free_bytes() < self.limits.disk_reserve:
            raise LimitReached("disk_reserve")


class SqliteImporter:
    """Imports log lines into a SQLite database; re-importing a file replaces its rows."""

    TABLES: Final = {PAC2200: PAC2200_COLUMNS, RCM: RCM_COLUMNS}
    """A table per kind of line, named after it."""

    def __init__(self, database: Path) -> None:
        """Open (or create) ``database`` and its tables.

        The file is opened (or created) by us first, without following a symbolic link
        on the way; the connection must then be to that very file. The rollback journal
        stays in memory: no file next to the database is created (one could be a link
        planted there).
        """
        self.database = database
        dir_fd = open_directory(database.parent.absolute(), create=True)
        try:
            self._fd = _open_at(database.name, os.O_RDWR | os.O_CREAT, dir_fd, database)
        finally:
            os.close(dir_fd)
        opened = os.fstat(self._fd)
        if not stat.S_ISREG(opened.st_mode):
            os.close(self._fd)
            raise UnsafePath(errno.EINVAL, "not a regular file", printable(database))
        try:
            self._conn = sqlite3.connect(str(database))
        except sqlite3.Error:
            os.close(self._fd)
            raise
        try:
            now = os.stat(database, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
                raise UnsafePath(errno.ELOOP, "the file changed while it was opened", str(database))
            self._conn.execute("PRAGMA journal_mode=MEMORY")
            for table, columns in self.TABLES.items():
                types = ", ".join(
                    f"{c} {'REAL' if table == PAC2200 and c != 'timestamp' else 'INTEGER'}"
                    for c in columns
                )
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (source TEXT NOT NULL, {types})"
                )
                self._conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {table}_source_time ON {table} (source, timestamp)"
                )
            self._conn.commit()
        except (sqlite3.Error, OSError):
            self.close()
            raise
        self._source = ""
        self._batches: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.TABLES}
        self.rows = 0
        self.skipped = 0

    def begin(self, source: str) -> None:
        """Start importing the lines of ``source`` (its earlier rows are replaced)."""
        self._source = source
        self.rows = 0
        self.skipped = 0
        for table in self.TABLES:
            self._conn.execute(f"DELETE FROM {table} WHERE source = ?", (source,))  # noqa: S608

    def add(self, record: dict[str, Any]) -> None:
        """Add one parsed line."""
        kind = line_kind(record)
        if kind is None:
            self.skipped += 1
            return
        row = pac2200_row(record) if kind == PAC2200 else rcm_row(record)
        batch = self._batches[kind]
        batch.append((self._source, *row))
        self.rows += 1
        if len(batch) >= SQLITE_BATCH:
            self._write(kind)

    def _write(self, table: str) -> None:
        batch = self._batches[table]
        if batch:
            marks = ", ".join("?" * (len(self.TABLES[table]) + 1))
            self._conn.executemany(f"INSERT INTO {table} VALUES ({marks})", batch)  # noqa: S608
            batch.clear()

    def commit(self) -> None:
        """Write the pending rows of the current file and commit."""
        for table in self.TABLES:
            self._write(table)
        self._conn.commit()

    def rollback(self) -> None:
        """Drop the pending rows of the current file."""
        for batch in self._batches.values():
            batch.clear()
        self._conn.rollback()

    def size(self) -> int:
        """The database file's size now (its growth counts toward the output limit)."""
        return os.fstat(self._fd).st_size

    def close(self) -> None:
        """Close the database."""
        self._conn.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class LineProcessor:
    """Splits the decoded stream into lines, counts them and checks each is a JSON object.

    ``raw``: every decoded byte goes to ``write`` unchanged. ``ndjson``: only complete
    lines that parse as a JSON object go to ``write`` (each with its newline). In both
    formats invalid lines are counted and ``records`` (if given) receives every object.
    """

    def __init__(
        self,
        fmt: str,
        write: Callable[[bytes], object] | None,
        records: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Process for ``fmt`` (``raw`` or ``ndjson``)."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt = fmt
        self._write = write
        self._records = records
        self.lines = 0
        self.invalid_lines = 0
        self.tail_bytes = 0
        self.bytes_written = 0
        self._partial = bytearray()
        self._overlong = False

    def feed(self, piece: bytes) -> None:
        """Process one decoded piece."""
        if self.fmt == "raw" and self._write is not None:
            self._write(piece)
            self.bytes_written += len(piece)
        if b"\n" not in piece:
            self._keep(piece)
            return
        parts = piece.split(b"\n")
        tail = parts.pop()
        valid: list[bytes] = []
        for index, part in enumerate(parts):
            if index == 0 and (self._partial or self._overlong):
                line: bytes | None = None if self._overlong else bytes(self._partial + part)
                if line is not None and len(line) > MAX_LINE_BYTES:
                    line = None
                self._partial.clear()
                self._overlong = False
            else:
                line = part if len(part) <= MAX_LINE_BYTES else None
            self._line(line, valid)
        self.tail_bytes = 0
        self._keep(tail)
        if valid and self.fmt == "ndjson" and self._write is not None:
            data = b"".join(valid)
            self._write(data)
            self.bytes_written += len(data)

    @property
    def pending_bytes(self) -> int:
        """Bytes of the unfinished last line kept for parsing."""
        return len(self._partial)

    def _keep(self, data: bytes) -> None:
        """Remember the unfinished last line (only its length once it is too long)."""
        self.tail_bytes += len(data)
        if self._overlong:
            return
        if len(self._partial) + len(data) > MAX_LINE_BYTES:
            self._partial.clear()
            self._overlong = True
        else:
            self._partial += data

    def _line(self, line: bytes | None, valid: list[bytes]) -> None:
        self.lines += 1
        record: Any = None
        if line:  # an empty line is invalid without asking the JSON parser
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
        if not isinstance(record, dict):
            self.invalid_lines += 1
            return
        if self.fmt == "ndjson":
            assert line is not None
            valid.append(line + b"\n")
        if self._records is not None:
            self._records(record)


# --- files ------------------------------------------------------------------------------


@dataclass(slots=True)
class FileResult:
    """What decoding one file gave (the service's per-file response)."""

    path: str
    output: str | None = None
    members: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    lines: int = 0
    invalid_lines: int = 0
    partial_tail_bytes: int = 0
    truncated: bool = False
    error: str | None = None
    sqlite_rows: int | None = None
    limit: str | None = None  # the limit that cut this file (what is complete was kept)

    @property
    def ok(self) -> bool:
        """True when the file decoded (a truncated stream included)."""
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data."""
        return asdict(self)


def default_output(source: Path) -> Path:
    """Next to the source: without ``.gz`` (or with ``.decoded`` if it has no ``.gz``)."""
    if source.suffix.lower() == ".gz" and source.stem:
        return source.with_suffix("")
    return source.with_name(source.name + ".decoded")


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(READ_CHUNK):
        yield chunk


def _peek_kind(stream: BinaryIO) -> str | None:
    """``"empty"``, ``"not gzip"`` or None (gzip magic present); rewinds ``stream``."""
    head = stream.read(len(GZIP_MAGIC))
    stream.seek(0)
    if not head:
        return "empty"
    if head != GZIP_MAGIC:
        return "not gzip"
    return None


def _io_error(err: OSError) -> str:
    if isinstance(err, UnsafePath):
        return f"refused: {err.strerror}"
    return f"I/O error: {err.strerror or err}"


def decompress_file(
    source: Path,
    target: Path | None,
    *,
    fmt: str = "raw",
    overwrite: bool = False,
    importer: SqliteImporter | None = None,
    stream: BinaryIO | None = None,
    budget: Budget | None = None,
) -> FileResult:
    """Decode ``source`` into ``target`` (or into ``stream`` when ``target`` is None).

    Never raises for a problem of the file itself: the result carries the error. A file
    that yields nothing (empty, not gzip, unreadable) creates no output file. With a
    ``budget`` its limits apply: reaching one keeps what is complete and sets ``limit``
    (the caller stops there); a cancel raises DecodeCancelled and keeps nothing.
    """
    result = FileResult(path=str(source))
    try:
        handle = open_input(source)
    except OSError as err:
        result.error = f"cannot read: {err.strerror or err}"
        return result
    with handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            result.error = _peek_kind(handle)
        except OSError as err:
            result.error = f"cannot read: {err.strerror or err}"
            return result
        if result.error is not None:
            if result.error == "not gzip":
                result.bytes_in = size
            return result
        if target is not None and not overwrite and os.path.lexists(target):
            result.error = "output exists"
            return result
        if target is not None and _same_file(source, target):
            result.error = "output is the input"
            return result
        _decode_to(handle, source, size, target, result, fmt, overwrite, importer, stream, budget)
    return result


def _decode_to(
    handle: BinaryIO,
    source: Path,
    size: int,
    target: Path | None,
    result: FileResult,
    fmt: str,
    overwrite: bool,
    importer: SqliteImporter | None,
    stream: BinaryIO | None,
    budget: Budget | None,
) -> None:
    output: OutputFile | None = None
    try:
        if target is not None:
            output = OutputFile(target)
            out = output.file
        else:
            assert stream is not None
            out = stream
        if importer is not None:
            importer.begin(str(source))
        try:
            _decode_into(handle, source, size, out, fmt, importer, result, budget, output)
        except LimitReached as reached:
            result.limit = reached.limit
        out.flush()
        if importer is not None:
            importer.commit()
            result.sqlite_rows = importer.rows
        if output is not None:
            output.commit(overwrite=overwrite)
            result.output = str(target)
        else:
            result.output = "-"
    except DecodeCancelled:
        if importer is not None:
            importer.rollback()
        raise
    except (OSError, sqlite3.Error) as err:
        if importer is not None:
            importer.rollback()
        if isinstance(err, OutputExists):
            result.error = "output exists"
        elif isinstance(err, OSError):
            result.error = _io_error(err)
        else:
            result.error = f"sqlite: {err}"
        result.output = None
        result.limit = None
    finally:
        if output is not None:
            output.abort()


def _same_file(source: Path, target: Path) -> bool:
    try:
        return target.exists() and source.samefile(target)
    except OSError:
        return False


def _cut(piece: bytes, lines: LineProcessor, budget: Budget, db_growth: int) -> int:
    """How much of ``piece`` fits the budget's output and line limits (whole lines)."""
    end = len(piece)
    lines_left = budget.limits.max_lines - budget.lines - lines.lines
    if piece.count(b"\n") > lines_left:
        end = 0
        for _ in range(max(lines_left, 0)):
            end = piece.index(b"\n", end) + 1
    room = budget.output_limit - budget.bytes_out - lines.bytes_written - db_growth
    if lines.fmt == "ndjson":
        room -= lines.pending_bytes  # a partial line from earlier pieces is written with it
    if end > room:
        end = piece.rfind(b"\n", 0, max(room, 0)) + 1
    return end


def _decode_into(
    stream: BinaryIO,
    source: Path,
    size: int,
    out: BinaryIO,
    fmt: str,
    importer: SqliteImporter | None,
    result: FileResult,
    budget: Budget | None = None,
    output: OutputFile | None = None,
) -> None:
    decoder = GzipStreamDecoder()
    lines = LineProcessor(fmt, out.write, importer.add if importer is not None else None)
    step = max(size // 10, 1)
    next_report = step if size >= PROGRESS_MIN_BYTES else None
    db_start = importer.size() if importer is not None else 0
    try:
        for chunk in _chunks(stream):
            for piece in decoder.feed(chunk):
                if budget is None:
                    lines.feed(piece)
                    continue
                budget.check(output)
                db_growth = importer.size() - db_start if importer is not None else 0
                end = _cut(piece, lines, budget, db_growth)
                lines.feed(piece[:end] if end < len(piece) else piece)
                if end < len(piece):
                    over_lines = budget.lines + lines.lines >= budget.limits.max_lines
                    raise LimitReached("max_lines" if over_lines else "max_output")
            if next_report is not None and decoder.bytes_fed >= next_report:
                _LOGGER.info(
                    "Decompressing %s: %d%% (%d MB of %d MB read, %d lines)",
                    printable(source),
                    100 * decoder.bytes_fed // size,
                    decoder.bytes_fed // 1_000_000,
                    size // 1_000_000,
                    lines.lines,
                )
                next_report += step
            if decoder.stopped:
                break
        decoder.finish()
    finally:
        result.members = decoder.members
        result.bytes_in = decoder.bytes_fed
        result.bytes_out = lines.bytes_written
        result.lines = lines.lines
        result.invalid_lines = lines.invalid_lines
        result.partial_tail_bytes = lines.tail_bytes
        result.truncated = decoder.truncated
        result.error = decoder.error
        if budget is not None:
            budget.lines += lines.lines
            budget.bytes_out += lines.bytes_written
    if result.error is None and lines.invalid_lines:
        # Without the trailer's checksum zlib cannot see damage; lines that are not JSON can.
        result.error = f"corrupt: {lines.invalid_lines} of {lines.lines} lines are not JSON"


GLOB_CHARACTERS: Final = "*?["


def expand_inputs(pattern: str) -> list[Path]:
    """Files named by ``pattern``: a file, every ``*.gz`` file of a directory, or a glob.

    A path that exists is taken literally, so a file whose name contains ``*?[`` can be
    named; only regular files are taken from a directory or a glob (never a FIFO).
    """
    path = Path(pattern)
    if os.path.lexists(pattern):
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.name.endswith(".gz") and p.is_file())
        return [path]
    if any(c in pattern for c in GLOB_CHARACTERS):
        return sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
    return []


def plan_outputs(sources: Sequence[Path], output: str | None) -> list[Path]:
    """Target of each source; ``output`` is a directory if it is one, ends with a separator
    or more than one source is given, otherwise a file."""
    if output is None:
        return [default_output(s) for s in sources]
    out = Path(output)
    as_directory = out.is_dir() or output.endswith(("/", os.sep)) or len(sources) > 1
    if as_directory:
        return [out / default_output(s).name for s in sources]
    return [out]


class PlanError(Exception):
    """A call that cannot run as asked; ``key`` names the reason (a translation key)."""

    def __init__(self, key: str, path: object, detail: str = "") -> None:
        """``path`` is escaped and shortened for messages."""
        self.key = key
        self.path = _short(printable(path))
        self.detail = detail
        super().__init__(f"{self.path}: {MESSAGES[key]}{f' ({detail})' if detail else ''}")


MESSAGES: Final = {
    "path_not_found": "no such file",
    "path_not_allowed": "not allowed here (outside the allowed folders, or a symbolic link)",
    "not_regular_file": "not a regular file",
    "output_exists": "exists already (use --overwrite to replace it)",
    "output_not_directory": "is a file, but several files are decoded: give a directory",
    "output_conflict": "would be written twice, or would replace an input or the database",
    "invalid_path": "cannot be used",
}


def _short(text: str, keep: int = 200) -> str:
    return text if len(text) <= keep else f"{text[: keep // 2]}…{text[-keep // 2 :]}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Checked, fully resolved paths of one call."""

    jobs: list[tuple[Path, Path | None]]
    database: Path | None


def check_names(path: Path) -> None:
    """PlanError ``invalid_path`` for a path the system cannot take (too long, NUL)."""
    if "\0" in str(path):
        raise PlanError("invalid_path", path, "contains a NUL character")
    if len(os.fsencode(str(path))) > PATH_MAX:
        raise PlanError("invalid_path", path, "path too long")
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise PlanError("invalid_path", path, f"a name is longer than {NAME_MAX} bytes")


def _checked(path: Path, allowed: Callable[[Path], bool] | None) -> Path:
    """``path`` fully resolved; PlanError when a name is too long or it is not allowed."""
    check_names(path)
    resolved = Path(os.path.realpath(path))
    if allowed is not None and not (allowed(path) and allowed(resolved)):
        raise PlanError("path_not_allowed", path)
    return resolved


def _checked_target(path: Path, allowed: Callable[[Path], bool] | None) -> Path:
    """An output's parent resolved, its own name kept (it must not be a link)."""
    parent = _checked(path.parent, allowed)
    _checked(path, allowed)
    target = parent / path.name
    if target.is_symlink():
        raise PlanError("path_not_allowed", path)
    return target


def plan_jobs(
    sources: Sequence[Path],
    output: str | None,
    *,
    overwrite: bool = False,
    sqlite: Path | None = None,
    allowed: Callable[[Path], bool] | None = None,
    to_stream: bool = False,
) -> Plan:
    """Check a call before anything is written (blocking). Raises PlanError.

    Every path is resolved and (with ``allowed``) must be allowed both as given and
    resolved; inputs are regular files; no output is written twice, equals an input or
    the database; an existing output needs ``overwrite``.
    """
    for given in (output, sqlite):
        if given is not None:
            check_names(Path(given))
    inputs: list[Path] = []
    for source in sources:
        resolved = _checked(source, allowed)
        try:
            mode = os.stat(resolved).st_mode
        except FileNotFoundError as err:
            raise PlanError("path_not_found", source) from err
        except OSError as err:
            raise PlanError("invalid_path", source, err.strerror or str(err)) from err
        if not stat.S_ISREG(mode):
            raise PlanError("not_regular_file", source)
        inputs.append(resolved)
    if not inputs:
        raise PlanError("path_not_found", output or "")
    taken = set(inputs)
    targets: list[Path | None] = []
    if to_stream:
        targets = [None] * len(inputs)
    else:
        if output is not None and len(inputs) > 1:
            out = Path(output)
            if out.exists() and not out.is_dir():
                raise PlanError("output_not_directory", output)
        for target in plan_outputs(sources, output):
            checked = _checked_target(target, allowed)
            if checked in taken:
                raise PlanError("output_conflict", target)
            if checked.is_dir() or (not overwrite and os.path.lexists(checked)):
                raise PlanError("output_exists", target)
            taken.add(checked)
            targets.append(checked)
    database = None
    if sqlite is not None:
        database = _checked_target(sqlite, allowed)
        if database in taken or database.is_dir():
            raise PlanError("output_conflict", sqlite)
    return Plan(list(zip(inputs, targets, strict=True)), database)


def summary(result: FileResult) -> str:
    """One line about a decoded file, for logs and the command line."""
    parts = [f"{result.lines} lines", f"{result.members} gzip member(s)"]
    if result.truncated:
        parts.append("no gzip trailer (normal for these logs)")
    if result.partial_tail_bytes:
        parts.append(f"partial last line of {result.partial_tail_bytes} bytes")
    if result.limit:
        parts.append(f"stopped at the limit {result.limit}: the rest is not decoded")
    if result.error:
        parts.append(f"error: {printable(result.error)}")
    return ", ".join(parts)


def decompress_files(
    jobs: Iterable[tuple[Path, Path | None]],
    *,
    fmt: str = "raw",
    overwrite: bool = False,
    sqlite: Path | None = None,
    stream: BinaryIO | None = None,
    budget: Budget | None = None,
) -> list[FileResult]:
    """Decode every ``(source, target)``; a bad file never stops the others.

    With a ``budget``, reaching a limit stops the call after the file it cut (that file's
    result names the limit; later files are not decoded) and a cancel raises
    DecodeCancelled. Raises ``sqlite3.Error`` / ``OSError`` only when the database cannot
    be opened (before any file is touched).
    """
    importer: SqliteImporter | None = None
    if sqlite is not None:
        importer = SqliteImporter(sqlite)
    results: list[FileResult] = []
    try:
        for source, target in jobs:
            result = decompress_file(
                source,
                target,
                fmt=fmt,
                overwrite=overwrite,
                importer=importer,
                stream=stream,
                budget=budget,
            )
            _LOGGER.log(
                logging.WARNING
                if result.error or result.invalid_lines or result.limit
                else logging.INFO,
                "%s: %s",
                printable(source),
                summary(result),
            )
            results.append(result)
            if result.limit is not None:
                break
    finally:
        if importer is not None:
            importer.close()
    return results


# --- command line -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamlog",
        description="Decode the incomplete gzip NDJSON logs of the PAC2200 / DCTR loggers.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    decompress = commands.add_parser(
        "decompress",
        help="decode log files (every gzip member, up to the last flush)",
        description="Decode log files. Exit code 0 when every file decoded (a stream "
        "without gzip trailer included) and every complete line is JSON; 1 when a file "
        "could not be decoded (empty, not gzip, corrupt), has lines that are not JSON, a "
        "limit was reached, or the paths cannot be used as given.",
    )
    decompress.add_argument("files", nargs="+", type=Path, metavar="FILE")
    decompress.add_argument(
        "-o",
        "--output",
        help="output file (one input) or directory; default: standard output",
    )
    decompress.add_argument(
        "--format",
        choices=FORMATS,
        default="raw",
        help="raw: decoded bytes as they are; ndjson: only complete lines that are JSON",
    )
    decompress.add_argument("--sqlite", type=Path, metavar="DB", help="also import into DB")
    decompress.add_argument(
        "--overwrite", action="store_true", help="replace existing output files"
    )
    decompress.add_argument(
        "--max-output",
        type=float,
        metavar="MB",
        help="stop after writing this many MB (files and database growth); default: "
        "200 × the input, at least 64 MB, at most 1024 MB",
    )
    decompress.add_argument(
        "--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="stop after this long"
    )
    decompress.add_argument(
        "--max-lines", type=int, default=DEFAULT_MAX_LINES, help="stop after this many lines"
    )
    decompress.add_argument(
        "-q", "--quiet", action="store_true", help="no per-file summary on standard error"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    sources: list[Path] = [Path(os.path.abspath(p)) for p in args.files]
    sqlite: Path | None = Path(os.path.abspath(args.sqlite)) if args.sqlite else None
    output: str | None = args.output
    if output is not None:
        output = os.path.abspath(output) + (os.sep if output.endswith(("/", os.sep)) else "")
    limits = Limits(
        max_output=None if args.max_output is None else int(args.max_output * 1_000_000),
        max_seconds=args.max_seconds,
        max_lines=args.max_lines,
    )
    try:
        plan = plan_jobs(
            sources, output, overwrite=args.overwrite, sqlite=sqlite, to_stream=output is None
        )
    except PlanError as err:
        _LOGGER.error("%s", err)
        return 1
    input_bytes = sum(os.stat(source).st_size for source, _ in plan.jobs)
    try:
        results = decompress_files(
            plan.jobs,
            fmt=args.format,
            overwrite=args.overwrite,
            sqlite=plan.database,
            stream=sys.stdout.buffer if output is None else None,
            budget=Budget(limits, input_bytes),
        )
    except (OSError, sqlite3.Error) as err:
        _LOGGER.error("Cannot use %s as SQLite database: %s", printable(args.sqlite), err)
        return 1
    if results and results[-1].limit is not None and len(results) < len(plan.jobs):
        _LOGGER.error(
            "Stopped at the limit %s: %d file(s) not decoded",
            results[-1].limit,
            len(plan.jobs) - len(results),
        )
    return 0 if all(r.ok and r.limit is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
