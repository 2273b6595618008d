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

This file imports the standard library only: it runs without Home Assistant as
``python custom_components/solar_wallbox/streamlog.py decompress FILE...`` and, with Home
Assistant installed, as ``python -m custom_components.solar_wallbox.streamlog ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import os
import sqlite3
import sys
import tempfile
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

_LOGGER = logging.getLogger(__name__)

GZIP_MAGIC: Final = b"\x1f\x8b"
READ_CHUNK: Final = 64 * 1024
"""Input bytes read and fed to zlib per step."""
OUTPUT_STEP: Final = 256 * 1024
"""Most output bytes zlib may produce per step (bounds memory even for extreme ratios)."""
MAX_LINE_BYTES: Final = 1024 * 1024
"""Longer lines are not kept in memory for parsing; they count as invalid."""
PROGRESS_MIN_BYTES: Final = 64 * 1024 * 1024
"""Files at least this large get an INFO log line at every tenth of their input."""
SQLITE_BATCH: Final = 1000

FORMATS: Final = ("raw", "ndjson")

PAC2200_FIELDS: Final[tuple[str, ...]] = (
    "update",
    "u_l1",
    "u_l2",
    "u_l3",
    "u_l1l2",
    "u_l2l3",
    "u_l1l3",
    "i_l1",
    "i_l2",
    "i_l3",
    "pva_l1",
    "pva_l2",
    "pva_l3",
    "p_l1",
    "p_l2",
    "p_l3",
    "pvar_l1",
    "pvar_l2",
    "pvar_l3",
    "pf_l1",
    "pf_l2",
    "pf_l3",
    "frequency",
    "u_avg_ln",
    "u_avg_ll",
    "i_avg",
    "p_avg",
    "pva_avg",
    "pvar_avg",
    "pf_tot",
    "i_n",
)
"""Fields of a PAC2200 log line, in the original tool's order.

``p_avg`` holds the total *apparent* power and ``pva_avg`` the total *active* power: the
original tool swapped the two names, and its logs (and ours, for compatibility) keep that.
"""

RCM_BANDS: Final[tuple[str, ...]] = (
    "dc",
    "ac_total",
    "ac_50hz",
    "ac_lt100hz",
    "ac_150hz",
    "ac_100hz_1khz",
    "ac_gt1khz",
    "ac_gt10khz",
)
"""Residual-current bands, in register order (same as ``drivers.dctr.BANDS``)."""

RCM_BAND_FIELDS: Final[tuple[str, ...]] = (
    "f_i",
    "raised_alarm_a",
    "raised_alarm_b",
    "thresholds_a",
    "activated_alarms_a",
    "thresholds_b",
    "activated_alarms_b",
)
"""RCM line fields holding one value per band (an object keyed by band name)."""

RCM_FIELDS: Final[tuple[str, ...]] = ("update", "validity", *RCM_BAND_FIELDS, "alarm_delay")
"""Fields of an RCM log line, in the original tool's order."""


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


PAC2200_COLUMNS: Final[tuple[str, ...]] = ("timestamp", *PAC2200_FIELDS[1:])
RCM_COLUMNS: Final[tuple[str, ...]] = (
    "timestamp",
    "validity",
    *(f"{field}_{band}" for field in RCM_BAND_FIELDS for band in RCM_BANDS),
    "alarm_delay",
)


def pac2200_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """Column values of a PAC2200 line (``PAC2200_COLUMNS`` order)."""
    return (_integer(record.get("update")), *(_number(record.get(f)) for f in PAC2200_FIELDS[1:]))


def rcm_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """Column values of an RCM line (``RCM_COLUMNS`` order); booleans become 0/1."""
    values: list[Any] = [_integer(record.get("update")), _integer(record.get("validity"))]
    for field in RCM_BAND_FIELDS:
        values.extend(_integer(v) for v in _band_values(record.get(field)))
    values.append(_integer(record.get("alarm_delay")))
    return tuple(values)


def line_kind(record: dict[str, Any]) -> str | None:
    """``"rcm"``, ``"pac2200"`` or None, by content (the RCM logger used the PAC2200 name)."""
    if "f_i" in record:
        return "rcm"
    if "u_l1" in record or "frequency" in record:
        return "pac2200"
    return None


class SqliteImporter:
    """Imports log lines into a SQLite database; re-importing a file replaces its rows."""

    TABLES: Final = {"pac2200": PAC2200_COLUMNS, "rcm": RCM_COLUMNS}

    def __init__(self, database: Path) -> None:
        """Open (or create) ``database`` and its tables."""
        self.database = database
        self._conn = sqlite3.connect(str(database))
        try:
            for table, columns in self.TABLES.items():
                types = ", ".join(
                    f"{c} {'REAL' if table == 'pac2200' and c != 'timestamp' else 'INTEGER'}"
                    for c in columns
                )
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (source TEXT NOT NULL, {types})"
                )
                self._conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {table}_source_time ON {table} (source, timestamp)"
                )
            self._conn.commit()
        except sqlite3.Error:
            self._conn.close()
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
        row = pac2200_row(record) if kind == "pac2200" else rcm_row(record)
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

    def close(self) -> None:
        """Close the database."""
        self._conn.close()


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
        if line is not None:
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


def _peek_kind(source: Path) -> str | None:
    """``"empty"``, ``"not gzip"`` or None (gzip magic present)."""
    with source.open("rb") as stream:
        head = stream.read(len(GZIP_MAGIC))
    if not head:
        return "empty"
    if head != GZIP_MAGIC:
        return "not gzip"
    return None


def decompress_file(
    source: Path,
    target: Path | None,
    *,
    fmt: str = "raw",
    overwrite: bool = False,
    importer: SqliteImporter | None = None,
    stream: BinaryIO | None = None,
) -> FileResult:
    """Decode ``source`` into ``target`` (or into ``stream`` when ``target`` is None).

    Never raises for a problem of the file itself: the result carries the error. A file
    that yields nothing (empty, not gzip, unreadable) creates no output file.
    """
    result = FileResult(path=str(source))
    try:
        size = source.stat().st_size
        result.error = _peek_kind(source)
    except OSError as err:
        result.error = f"cannot read: {err.strerror or err}"
        return result
    if result.error is not None:
        if result.error == "not gzip":
            result.bytes_in = size
        return result
    if target is not None and not overwrite and target.exists():
        result.error = "output exists"
        return result
    if target is not None and _same_file(source, target):
        result.error = "output is the input"
        return result
    temporary: Path | None = None
    try:
        with contextlib.ExitStack() as stack:
            if target is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".partial", dir=target.parent
                )
                temporary = Path(name)
                os.chmod(handle, 0o644)
                out: BinaryIO = stack.enter_context(os.fdopen(handle, "wb"))
            else:
                assert stream is not None
                out = stream
            if importer is not None:
                importer.begin(str(source))
            _decode_into(source, size, out, fmt, importer, result)
        if importer is not None:
            importer.commit()
            result.sqlite_rows = importer.rows
        if temporary is not None and target is not None:
            temporary.replace(target)
            result.output = str(target)
        else:
            result.output = "-"
    except (OSError, sqlite3.Error) as err:
        if importer is not None:
            importer.rollback()
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        result.error = (
            f"I/O error: {err.strerror or err}" if isinstance(err, OSError) else f"sqlite: {err}"
        )
        result.output = None
    return result


def _same_file(source: Path, target: Path) -> bool:
    try:
        return target.exists() and source.samefile(target)
    except OSError:
        return False


def _decode_into(
    source: Path,
    size: int,
    out: BinaryIO,
    fmt: str,
    importer: SqliteImporter | None,
    result: FileResult,
) -> None:
    decoder = GzipStreamDecoder()
    lines = LineProcessor(fmt, out.write, importer.add if importer is not None else None)
    step = max(size // 10, 1)
    next_report = step if size >= PROGRESS_MIN_BYTES else None
    with source.open("rb") as stream:
        for chunk in _chunks(stream):
            for piece in decoder.feed(chunk):
                lines.feed(piece)
            if next_report is not None and decoder.bytes_fed >= next_report:
                _LOGGER.info(
                    "Decompressing %s: %d%% (%d MB of %d MB read, %d lines)",
                    source,
                    100 * decoder.bytes_fed // size,
                    decoder.bytes_fed // 1_000_000,
                    size // 1_000_000,
                    lines.lines,
                )
                next_report += step
            if decoder.stopped:
                break
    decoder.finish()
    out.flush()
    result.members = decoder.members
    result.bytes_in = decoder.bytes_fed
    result.bytes_out = lines.bytes_written
    result.lines = lines.lines
    result.invalid_lines = lines.invalid_lines
    result.partial_tail_bytes = lines.tail_bytes
    result.truncated = decoder.truncated
    result.error = decoder.error
    if result.error is None and lines.invalid_lines:
        # Without the trailer's checksum zlib cannot see damage; lines that are not JSON can.
        result.error = f"corrupt: {lines.invalid_lines} of {lines.lines} lines are not JSON"


def expand_inputs(pattern: str) -> list[Path]:
    """Files named by ``pattern``: a file, every ``*.gz`` file of a directory, or a glob."""
    path = Path(pattern)
    if any(c in pattern for c in "*?["):
        return sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.name.endswith(".gz") and p.is_file())
    return [path] if path.exists() else []


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


def summary(result: FileResult) -> str:
    """One line about a decoded file, for logs and the command line."""
    parts = [f"{result.lines} lines", f"{result.members} gzip member(s)"]
    if result.truncated:
        parts.append("no gzip trailer (normal for these logs)")
    if result.partial_tail_bytes:
        parts.append(f"partial last line of {result.partial_tail_bytes} bytes")
    if result.error:
        parts.append(f"error: {result.error}")
    return ", ".join(parts)


def decompress_files(
    jobs: Iterable[tuple[Path, Path | None]],
    *,
    fmt: str = "raw",
    overwrite: bool = False,
    sqlite: Path | None = None,
    stream: BinaryIO | None = None,
) -> list[FileResult]:
    """Decode every ``(source, target)``; a bad file never stops the others.

    Raises ``sqlite3.Error`` / ``OSError`` only when the database cannot be opened (before
    any file is touched).
    """
    importer: SqliteImporter | None = None
    if sqlite is not None:
        sqlite.parent.mkdir(parents=True, exist_ok=True)
        importer = SqliteImporter(sqlite)
    results: list[FileResult] = []
    try:
        for source, target in jobs:
            result = decompress_file(
                source, target, fmt=fmt, overwrite=overwrite, importer=importer, stream=stream
            )
            _LOGGER.log(
                logging.WARNING if result.error or result.invalid_lines else logging.INFO,
                "%s: %s",
                source,
                summary(result),
            )
            results.append(result)
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
        "could not be decoded (empty, not gzip, corrupt) or has lines that are not JSON.",
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
    sources: list[Path] = args.files
    if args.output is None:
        targets: list[Path | None] = [None] * len(sources)
        stream: BinaryIO | None = sys.stdout.buffer
    else:
        targets = list(plan_outputs(sources, args.output))
        stream = None
    try:
        results = decompress_files(
            zip(sources, targets, strict=True),
            fmt=args.format,
            overwrite=args.overwrite,
            sqlite=args.sqlite,
            stream=stream,
        )
    except (OSError, sqlite3.Error) as err:
        _LOGGER.error("Cannot use %s as SQLite database: %s", args.sqlite, err)
        return 1
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
