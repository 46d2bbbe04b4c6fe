"""Backtest on every core: the replay's reader and matcher over files, a run of consecutive files per task in
a process pool.

Each worker builds the matcher of the selected detections once, reads whole files with ``iter_records`` (so
a malformed file is reported exactly as ``match`` reports it) and returns one ``ReplaySummary`` for its run of
files. Runs are consecutive and merged in file order, which makes the merged summary equal to the
single-process one, tie order of the top principals included (Counter keeps first-insertion order, and merging
in file order inserts in the sequential order).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext

from detections.catalogue import CATALOGUE
from detections.replay import CatalogueMatcher, ReplayError, discover_files, iter_records
from detections.rule import Detection
from detections.summary import ReplaySummary

#: How files are split into tasks (see ``batches``).
MAX_FILES_PER_TASK = 4
MIN_TASKS_PER_WORKER = 8

_matcher: CatalogueMatcher | None = None
#: What ``_matcher`` was built from: a worker compiles only when its inherited matcher (fork) is not this.
_matcher_detections: tuple[Detection, ...] | None = None


@dataclass(frozen=True)
class BatchResult:
    """The summary of a run of consecutive files, as one worker task returns it."""

    files: int
    summary: ReplaySummary
    errors: tuple[str, ...]
    #: The worker process's peak resident set so far (ru_maxrss, KiB on Linux).
    peak_rss_kib: int


def _use_detections(detections: tuple[Detection, ...]) -> CatalogueMatcher:
    """This process's matcher for ``detections``, compiled at most once per selection."""
    global _matcher, _matcher_detections
    if _matcher is None or _matcher_detections != detections:
        _matcher = CatalogueMatcher(detections)
        _matcher_detections = detections
    return _matcher


def _init_worker(detections: tuple[Detection, ...]) -> None:
    """Pool initializer: the selection is compiled once per worker, before its first file. Under ``fork``
    (Linux's default) the parent compiled it already and the worker inherits it; under ``spawn`` the
    selection arrives pickled and compiles here."""
    _use_detections(detections)


def summarize_files(paths: Sequence[str]) -> BatchResult:
    """One summary of ``paths``, read in order; runs in a worker (or inline with one worker) after
    ``_use_detections``."""
    matcher = _matcher
    assert matcher is not None, "summarize_files runs after _init_worker/_use_detections"
    summary = ReplaySummary(matcher.detection_ids)
    errors: list[str] = []
    for item in iter_records(paths):
        if isinstance(item, ReplayError):
            summary.failed_files += 1
            errors.append(item.message)
            continue
        summary.add(item.record, matcher.match(item.record))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return BatchResult(len(paths), summary, tuple(errors), peak)


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
    detections: Sequence[Detection] | None = None,
    mp_context: BaseContext | None = None,
) -> BacktestResult:
    """Summarize ``paths`` (files/folders, as ``match``) with ``workers`` processes (default: every core),
    through ``detections`` (default: the built-ins); ``mp_context`` picks fork/spawn (default: the
    platform's)."""
    selection = tuple(CATALOGUE if detections is None else detections)
    files: list[str] = []
    errors: list[str] = []
    # Compiled in the parent before the pool starts, so forked workers inherit it instead of compiling.
    summary = ReplaySummary(_use_detections(selection).detection_ids)
    for entry in discover_files(paths):
        if isinstance(entry, ReplayError):
            errors.append(entry.message)
            summary.failed_files += 1
        else:
            files.append(str(entry))
    count = workers or default_workers()
    peak = 0
    done = 0
    for result in _results(files, count, selection, mp_context):
        summary.merge(result.summary)
        errors.extend(result.errors)
        peak = max(peak, result.peak_rss_kib)
        done += result.files
        if on_file_done is not None:
            on_file_done(done, len(files))
    return BacktestResult(summary, errors, len(files), peak)


def batches(files: Sequence[str], workers: int) -> list[tuple[str, ...]]:
    """Consecutive runs of files, one per task: at least 8 tasks per worker, so that the last task to finish
    leaves the other workers idle for at most one short run; at most 4 files per run, which already makes the
    per-task cost (a pickled summary back and one merge in the parent) small next to the matching."""
    size = max(1, min(MAX_FILES_PER_TASK, len(files) // (workers * MIN_TASKS_PER_WORKER)))
    return [tuple(files[start : start + size]) for start in range(0, len(files), size)]


def _results(
    files: list[str], workers: int, detections: tuple[Detection, ...], mp_context: BaseContext | None
) -> Iterator[BatchResult]:
    if workers <= 1 or len(files) <= 1:
        yield from (summarize_files([path]) for path in files)
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp_context, initializer=_init_worker, initargs=(detections,)
    ) as pool:
        # map() returns results in input order, which the merge relies on.
        yield from pool.map(summarize_files, batches(files, workers))
