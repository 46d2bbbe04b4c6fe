"""Backtest on every core: the replay's reader and matcher over files, one file per task in a process pool.

Each worker builds the catalogue matcher once, reads whole files with ``iter_records`` (so a malformed file is
reported exactly as ``match`` reports it) and returns a ``ReplaySummary`` of that file. Results are merged in
file order, which makes the merged summary equal to the single-process one, tie order of the top principals
included (Counter keeps first-insertion order, and merging in file order inserts in the sequential order).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from detections.replay import CatalogueMatcher, ReplayError, discover_files, iter_records
from detections.summary import ReplaySummary

_matcher: CatalogueMatcher | None = None


@dataclass(frozen=True)
class FileResult:
    path: str
    summary: ReplaySummary
    errors: tuple[str, ...]
    #: The worker process's peak resident set so far (ru_maxrss, KiB on Linux).
    peak_rss_kib: int


def _worker_matcher() -> CatalogueMatcher:
    global _matcher
    if _matcher is None:
        _matcher = CatalogueMatcher()
    return _matcher


def _init_worker() -> None:
    """Pool initializer: the catalogue is compiled once per worker, before its first file. Under ``fork``
    (Linux's default) the parent compiled it already and the worker inherits it; under ``spawn`` it compiles
    here."""
    _worker_matcher()


def summarize_file(path: str) -> FileResult:
    """One file's summary; runs in a worker (or inline with one worker)."""
    matcher = _worker_matcher()
    summary = ReplaySummary(matcher.detection_ids)
    errors: list[str] = []
    for item in iter_records([path]):
        if isinstance(item, ReplayError):
            summary.failed_files += 1
            errors.append(item.message)
            continue
        summary.add(item.record, matcher.match(item.record))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return FileResult(path, summary, tuple(errors), peak)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class BacktestResult:
    summary: ReplaySummary
    errors: list[str]
    files: int
    #: Highest ru_maxrss any worker reported (KiB); per worker, since each is its own process.
    peak_worker_rss_kib: int


def backtest_local(
    paths: Sequence[str],
    workers: int | None = None,
    on_file_done: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Summarize ``paths`` (files/folders, as ``match``) with ``workers`` processes (default: every core)."""
    files: list[str] = []
    errors: list[str] = []
    # Compiled in the parent before the pool starts, so forked workers inherit it instead of compiling.
    summary = ReplaySummary(_worker_matcher().detection_ids)
    for entry in discover_files(paths):
        if isinstance(entry, ReplayError):
            errors.append(entry.message)
            summary.failed_files += 1
        else:
            files.append(str(entry))
    count = workers or default_workers()
    peak = 0
    for done, result in enumerate(_results(files, count), start=1):
        summary.merge(result.summary)
        errors.extend(result.errors)
        peak = max(peak, result.peak_rss_kib)
        if on_file_done is not None:
            on_file_done(done, len(files))
    return BacktestResult(summary, errors, len(files), peak)


def _results(files: list[str], workers: int) -> Iterator[FileResult]:
    if workers <= 1 or len(files) <= 1:
        yield from (summarize_file(path) for path in files)
        return
    # Small files make per-task overhead visible; a chunk of a few files per task keeps the pool busy
    # without hurting balance. map() returns results in input order, which the merge relies on.
    chunk = max(1, min(8, len(files) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        yield from pool.map(summarize_file, files, chunksize=chunk)
