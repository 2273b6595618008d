"""``python -m bench.decompress_bomb``: decompression bombs against the log decoder's limits.

Builds the bombs of SECURITY.md row D4 in a temporary folder (1 MB of gzip that inflates to
1 GiB, 8 million empty lines in 8 kB, a small file that would fill a SQLite database) and
decodes each with the action's default limits in a worker thread, as Home Assistant's
executor would, while an asyncio loop in the main thread measures how late its timer
callbacks run (the event-loop stall a user would feel). Prints one row per bomb.
Not part of ``scripts/test`` (it writes up to 1 GiB and takes about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from custom_components.solar_wallbox import streamlog

MB = 1_000_000


def _gzip(path: Path, block: bytes, repeat: int) -> Path:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for _ in range(repeat):
            out.write(compressor.compress(block))
        out.write(compressor.flush(zlib.Z_SYNC_FLUSH))
    return path


def bombs(folder: Path) -> list[tuple[str, Path, Path | None, str]]:
    """(name, input, database, format) of every bomb."""
    line = json.dumps({"update": 1, "u_l1": 230.1, "frequency": 50.0}).encode() + b"\n"
    return [
        ("1 GiB of zeros (raw)", _gzip(folder / "zeros.json.gz", b"\0" * MB, 1024), None, "raw"),
        ("8 million empty lines", _gzip(folder / "empty.json.gz", b"\n" * MB, 8), None, "ndjson"),
        (
            "lines into SQLite",
            _gzip(folder / "rows.json.gz", line * 10_000, 200),
            folder / "d.db",
            "ndjson",
        ),
    ]


async def _measure(job: Callable[[], list[streamlog.FileResult]]) -> tuple[object, float, float]:
    """Run ``job`` in a thread; return its result, the seconds and the worst loop delay."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            start = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - start - 0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        try:
            result: object = await loop.run_in_executor(pool, job)
        except streamlog.LimitReached as err:  # pragma: no cover  (decode_files reports it)
            result = err
    seconds = time.monotonic() - started
    done = True
    await ticker
    return result, seconds, worst


async def run(folder: Path) -> list[str]:
    """Decode every bomb with the default limits; one table row each."""
    rows = [
        "| bomb | input | output kept | database | stopped by | time | worst event-loop delay |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, source, database, fmt in bombs(folder):
        target = source.with_suffix("")
        size = source.stat().st_size
        budget = streamlog.Budget(streamlog.Limits(), size)

        def job(
            source: Path = source,
            target: Path = target,
            database: Path | None = database,
            budget: streamlog.Budget = budget,
            fmt: str = fmt,
        ) -> list[streamlog.FileResult]:
            return streamlog.decompress_files(
                [(source, target)], fmt=fmt, sqlite=database, budget=budget
            )

        results, seconds, worst = await _measure(job)
        assert isinstance(results, list)
        result = results[0]
        db = f"{database.stat().st_size / MB:.1f} MB" if database else "–"
        rows.append(
            f"| {name} | {size / 1000:.0f} kB | {result.bytes_out / MB:.1f} MB, "
            f"{result.lines:,} lines | {db} | {result.limit or '–'} | {seconds:.1f} s | "
            f"{worst * 1000:.0f} ms |"
        )
        target.unlink(missing_ok=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build the bombs in a temporary folder (or ``--folder``), decode them, print rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.decompress_bomb", description=__doc__)
    parser.add_argument("--folder", type=Path, help="where to build them (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.folder is not None:
        args.folder.mkdir(parents=True, exist_ok=True)
        rows = asyncio.run(run(args.folder))
    else:
        with tempfile.TemporaryDirectory() as folder:
            rows = asyncio.run(run(Path(folder)))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
