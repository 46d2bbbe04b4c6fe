"""Replay CloudTrail logs through the catalogue, streaming, with the standard library only.

Reads what people actually have on disk:

* files as a trail delivers them to S3: ``*.json.gz`` holding ``{"Records": [...]}`` (folders are walked
  recursively; CloudTrail-Digest files are skipped because they describe log files, not events);
* plain ``.json``: a ``{"Records": [...]}`` object, a JSON array of records, or one record;
* JSON Lines: one record per line (``.jsonl``/``.ndjson``, or any file with several top-level objects).

Gzip is recognised by its magic bytes, not by the file name. Memory stays flat as files grow: a
``{"Records": [...]}`` array and a top-level array are split element by element with
``json.JSONDecoder.raw_decode`` over a sliding text buffer, so one record at a time is held (plus one read
chunk), never the whole file.

Errors are per file: a malformed file yields the records read before the problem, then one
:class:`ReplayError`, and the replay goes on with the next file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from detections.catalogue import CATALOGUE, Detection
from detections.filter_pattern import FilterPattern, PatternIndex, compile_pattern

#: Suffixes picked up when walking a folder (explicitly named files are read whatever their name).
LOG_SUFFIXES: tuple[str, ...] = (".json.gz", ".json", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
_DIGEST_MARKER = "CloudTrail-Digest"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_CHARS = 1 << 20  # text read per refill; a record larger than this just takes several refills
_SPACE = re.compile(r"[ \t\n\r]*")
_RECORDS_ARRAY_START = re.compile(r'\{[ \t\n\r]*"Records"[ \t\n\r]*:[ \t\n\r]*\[')
# Longest prefix needed to recognise '{ "Records" : [' with generous whitespace.
_RECOGNITION_WINDOW = 256


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """One CloudTrail record and where it came from (``position`` is 1-based within its file)."""

    source: str
    position: int
    record: dict[str, object]


@dataclass(frozen=True, slots=True)
class ReplayError:
    """A file that could not be read completely; ``message`` says which file, where and why."""

    source: str
    message: str


ReplayItem = ReplayRecord | ReplayError


class _MalformedLog(ValueError):
    """Raised inside one file's reader; turned into a ReplayError by iter_records."""


def discover_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | ReplayError]:
    """Expand folders (recursively, sorted, log suffixes only, digests skipped); keep files as given."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.is_file()
                and candidate.name.endswith(LOG_SUFFIXES)
                and _DIGEST_MARKER not in candidate.name
            )
            if not found:
                yield ReplayError(str(path), f"{path}: folder holds no {', '.join(LOG_SUFFIXES)} files")
            yield from found
        elif path.is_file():
            yield path
        else:
            yield ReplayError(str(path), f"{path}: no such file or folder")


def iter_records(
    paths: Iterable[str | os.PathLike[str]],
    on_file: Callable[[Path], None] | None = None,
) -> Iterator[ReplayItem]:
    """Yield every record of every file in order; a malformed file yields a ReplayError and the run goes on.

    ``on_file`` is called as each file is opened (progress reporting).
    """
    for entry in discover_files(paths):
        if isinstance(entry, ReplayError):
            yield entry
            continue
        if on_file is not None:
            on_file(entry)
        source = str(entry)
        position = 0
        try:
            with _open_text(entry) as stream:
                for record in _iter_stream(stream):
                    position += 1
                    yield ReplayRecord(source, position, record)
        except (_MalformedLog, OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
            where = f"after record {position}" if position else "before the first record"
            yield ReplayError(source, f"{source}: {where}: {_describe(error)}")


def iter_file_records(path: str | os.PathLike[str]) -> Iterator[dict[str, object]]:
    """Records of one file; raises ValueError (or OSError) on a malformed file. Handy in tests and scripts."""
    with _open_text(Path(path)) as stream:
        yield from _iter_stream(stream)


def iter_stream_records(read: Callable[[int], bytes], source: str) -> Iterator[ReplayItem]:
    """Records of one file given as a byte stream's ``read`` (an S3 object body, say), gzip or not.

    Same reader, same per-file errors as :func:`iter_records`: the records read before a problem, then one
    ReplayError.
    """
    position = 0
    try:
        binary = io.BufferedReader(_ReadAdapter(read))
        stream = (
            io.TextIOWrapper(gzip.GzipFile(fileobj=binary), encoding="utf-8-sig")
            if binary.peek(2)[:2] == _GZIP_MAGIC
            else io.TextIOWrapper(binary, encoding="utf-8-sig")
        )
        with stream:
            for record in _iter_stream(stream):
                position += 1
                yield ReplayRecord(source, position, record)
    except (_MalformedLog, OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
        where = f"after record {position}" if position else "before the first record"
        yield ReplayError(source, f"{source}: {where}: {_describe(error)}")


class _ReadAdapter(io.RawIOBase):
    """A raw binary stream over any ``read(n)`` (botocore's StreamingBody has no ``readinto``)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _describe(error: BaseException) -> str:
    if isinstance(error, gzip.BadGzipFile | EOFError | zlib.error):
        return f"corrupt or truncated gzip data ({error})"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text ({error.reason} at byte {error.start})"
    return str(error)


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return path.open("r", encoding="utf-8-sig")


class _Buffer:
    """A sliding window of decoded text over a stream, refilled in chunks, trimmed as it is consumed."""

    __slots__ = ("eof", "pos", "stream", "text")

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.eof = False

    def refill(self) -> bool:
        """Read one more chunk; False at end of stream. Drops the consumed prefix first."""
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += chunk
        return True

    def skip_space(self) -> None:
        while True:
            space = _SPACE.match(self.text, self.pos)
            assert space is not None  # a '*' pattern matches (maybe empty) at any position
            self.pos = space.end()
            if self.pos < len(self.text) or not self.refill():
                return

    def peek(self) -> str:
        """Next non-space character, or '' at end of stream."""
        self.skip_space()
        return self.text[self.pos : self.pos + 1]

    def ensure(self, chars: int) -> None:
        while len(self.text) - self.pos < chars and self.refill():
            pass

    def decode(self, decoder: json.JSONDecoder, what: str) -> object:
        """Decode one JSON value at the cursor, refilling until it is complete."""
        self.skip_space()
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                # Only a value cut off by the end of the window deserves another chunk. Reading on after a
                # real error would pull the whole rest of the file into memory before reporting it.
                if _may_be_cut_off(error, len(self.text)) and self.refill():
                    continue
                raise _MalformedLog(f"invalid JSON in {what}: {error.msg}") from None
            if end >= len(self.text) and self.refill():
                continue  # a number or literal may continue in the next chunk
            self.pos = end
            return value

    def expect(self, char: str, what: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "end of file"
            raise _MalformedLog(f"expected {char!r} {what}, found {shown}")
        self.pos += 1


# How far before the end of the window a JSON error can sit when the value was merely cut off there: a
# literal ("fals"), a number's tail ("1e") or an escape ("\\u12") is at most this long. A cut string is
# reported at its opening quote, anywhere in the window, so it is recognised by its message instead.
_CUT_OFF_TAIL = 6


def _may_be_cut_off(error: json.JSONDecodeError, window_end: int) -> bool:
    return error.msg.startswith("Unterminated string") or error.pos >= window_end - _CUT_OFF_TAIL


def _iter_stream(stream: TextIO) -> Iterator[dict[str, object]]:
    buffer = _Buffer(stream)
    decoder = json.JSONDecoder()
    if buffer.peek() == "":
        raise _MalformedLog("empty file: expected CloudTrail JSON")
    while (first := buffer.peek()) != "":
        if first == "[":
            buffer.pos += 1
            yield from _iter_array(buffer, decoder, "top-level array")
            continue
        if first != "{":
            raise _MalformedLog(f"expected a JSON object or array, found {first!r}")
        buffer.ensure(_RECOGNITION_WINDOW)
        opening = _RECORDS_ARRAY_START.match(buffer.text, buffer.pos)
        if opening is not None:
            buffer.pos = opening.end()
            yield from _iter_array(buffer, decoder, '"Records" array')
            _finish_object(buffer, decoder)
            continue
        value = buffer.decode(decoder, "record")
        yield from _records_of(value)


def _iter_array(buffer: _Buffer, decoder: json.JSONDecoder, what: str) -> Iterator[dict[str, object]]:
    """Elements of an array whose '[' was consumed, up to and including its ']'."""
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    while True:
        value = buffer.decode(decoder, f"an element of the {what}")
        if not isinstance(value, dict):
            raise _MalformedLog(f"an element of the {what} is {type(value).__name__}, not a JSON object")
        yield value
        separator = buffer.peek()
        buffer.pos += 1
        if separator == "]":
            return
        if separator != ",":
            shown = repr(separator) if separator else "end of file"
            raise _MalformedLog(f"expected ',' or ']' in the {what}, found {shown}")


def _finish_object(buffer: _Buffer, decoder: json.JSONDecoder) -> None:
    """After the Records array: skip any other keys of the wrapper object and its closing '}'."""
    while True:
        separator = buffer.peek()
        buffer.pos += 1
        if separator == "}":
            return
        if separator != ",":
            shown = repr(separator) if separator else "end of file"
            raise _MalformedLog(f"expected ',' or '}}' after the Records array, found {shown}")
        key = buffer.decode(decoder, "a key of the wrapper object")
        if not isinstance(key, str):
            raise _MalformedLog("expected a string key in the wrapper object")
        buffer.expect(":", "after a key of the wrapper object")
        buffer.decode(decoder, "a value of the wrapper object")


def _records_of(value: object) -> Iterator[dict[str, object]]:
    """A top-level object: a Records wrapper (whose Records key was not first) or one record."""
    if not isinstance(value, dict):
        raise _MalformedLog(f"expected a JSON object, found {type(value).__name__}")
    records = value.get("Records")
    if isinstance(records, list) and "eventName" not in value:
        for index, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise _MalformedLog(f"Records[{index - 1}] is {type(record).__name__}, not a JSON object")
            yield record
    else:
        yield value


# ---------------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------------


class CatalogueMatcher:
    """Every pattern of every detection in one PatternIndex; a detection matches when any pattern does."""

    def __init__(self, detections: Sequence[Detection] = CATALOGUE) -> None:
        patterns: dict[str, FilterPattern] = {}
        owners: dict[str, str] = {}
        for detection in detections:
            for number, text in enumerate(detection.all_patterns):
                key = f"{detection.id}#{number}"
                patterns[key] = compile_pattern(text)
                owners[key] = detection.id
        self._index = PatternIndex(patterns)
        self._owners = owners
        self.detection_ids: tuple[str, ...] = tuple(d.id for d in detections)

    def match(self, record: object) -> list[str]:
        """Ids of the matching detections, in catalogue order, each once."""
        owners = self._owners
        matched: list[str] = []
        for key in self._index.match_json(record):
            detection_id = owners[key]
            # Keys come in insertion order, so a detection's patterns are adjacent: compare with the last.
            if not matched or matched[-1] != detection_id:
                matched.append(detection_id)
        return matched
