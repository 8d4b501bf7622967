"""Reading the files users give: data, templates, rubrics, rule sets, strategies, replays; writing CSV tables; and
downloading a file.

Text is UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" and Notepad write one; left in, it would
hide the first column's name). Other encodings are refused with the file and line, never guessed. TOML, JSON and
YAML that do not parse name the line where the parser stopped.

JSONL is read here only: `read_jsonl` for users' files (a line that does not parse is an error), `read_log`
for the logs jurist appends to (a torn last line is left out), or `LogScan` for one record at a time.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import http.client
import json
import math
import os
import re
import tempfile
import tomllib
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TextIO, TypeVar

from .errors import ConfigError, InputError

T = TypeVar("T")

REENCODE_HINT = "re-save the file as UTF-8 (e.g. in Excel: Save As > CSV UTF-8; or: iconv -f cp1252 -t utf-8)"


def read_text(path: Path, *, error: type[InputError | ConfigError] = InputError) -> str:
    """The whole text of a file; invalid UTF-8 is an `error` naming the line."""
    return decode(path.read_bytes(), path, error=error)


def decode(raw: bytes, path: Path, *, error: type[InputError | ConfigError] = InputError) -> str:
    """The text of a file's bytes (read, or decompressed), as `read_text`."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(path, raw, error) from None


@contextmanager
def open_text(
    path: Path, *, newline: str | None = None, error: type[InputError | ConfigError] = InputError
) -> Iterator[TextIO]:
    """A text file to read line by line (JSONL, CSV): as `read_text`, without holding the whole file in memory."""
    with path.open(encoding="utf-8-sig", newline=newline) as fh:
        try:
            yield fh
        except UnicodeDecodeError:
            # The decoder works in chunks, so its position says nothing about the line: find it in the bytes.
            raise _not_utf8(path, path.read_bytes(), error) from None


def read_jsonl(
    path: Path,
    hint: str = "each line must be one complete JSON object",
    *,
    error: type[InputError | ConfigError] = InputError,
) -> Iterator[tuple[int, Any]]:
    """(line number, record) for each non-blank line; what does not parse is an `error` naming the line."""
    with open_text(path, error=error) as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, parse_json(line, file=str(path), hint=hint, line=number, error=error)


def parse_json(
    text: str,
    *,
    file: str,
    hint: str,
    line: int | None = None,
    error: type[InputError | ConfigError] = InputError,
) -> Any:
    """The value of a JSON text: a whole file's, or one line's of a JSONL file (`line`). What does not parse is an
    `error` naming the file, the line (the parser's, for a whole file) and the column, with `hint`; JSON nested too
    deeply for Python to read names `line`, or line 1 of a whole file (the parser does not say where)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message, where = f"malformed JSON at column {exc.colno}: {exc.msg}", line or exc.lineno
    except RecursionError:
        message, where, hint = "JSON nested too deeply to read", line or 1, "flatten the records' values"
    raise located(error, message, file=file, line=where, hint=hint)


@dataclass(frozen=True)
class AppendLog(Generic[T]):
    """An append-only JSONL log read back (`read_log`)."""

    records: list[T]  # in file order
    damaged: list[tuple[int, str]]  # (line number, why) of each line before the last that is not a record
    end: int  # bytes up to the end of the last record: what follows is a torn write (or blank lines)


def read_log(path: Path, parse: Callable[[bytes], T]) -> AppendLog[T]:
    """The records of a JSONL log that jurist appends to (the run's verdicts and sessions, the audit's model
    texts); none when the file does not exist. `parse` makes a record of one line, raising ValueError for a line
    that is not one. The last non-blank line, if it does not parse, is a torn write (killed mid-write, a full
    disk) and is left out; a last record that parses but lacks its newline is whole and kept. A line before the
    last that does not parse is listed in `damaged`: each caller says whether that is an error. Lines are split
    at b"\n" only, so a record whose text holds U+2028 or U+0085 (json.dumps writes them unescaped with
    ensure_ascii=False) stays one line."""
    scan = LogScan(path, parse)
    records = list(scan)
    return AppendLog(records, scan.damaged, scan.end)


class LogScan(Generic[T]):
    """`read_log` one record at a time, for logs too large to hold (a streaming run's verdicts): iterate it, then
    read `damaged` and `end`, which are whole only once the iteration has finished."""

    def __init__(self, path: Path, parse: Callable[[bytes], T]) -> None:
        self.path, self.parse = path, parse
        self.damaged: list[tuple[int, str]] = []
        self.end = 0

    def __iter__(self) -> Iterator[T]:
        self.damaged, self.end = [], 0
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            offset = 0
            failed: tuple[int, str] | None = None  # a line that did not parse: damaged if a record follows it
            for number, line in enumerate(fh, start=1):  # binary lines end at b"\n" only
                body = line[:-1] if line.endswith(b"\n") else line
                if body.strip():
                    if failed is not None:
                        self.damaged.append(failed)
                        failed = None
                    try:
                        record = self.parse(body)
                    except ValueError as exc:
                        failed = (number, str(exc))
                    else:
                        self.end = offset + len(line)  # with its newline, if it has one
                        yield record
                offset += len(line)


def cut_torn_tail(path: Path, end: int) -> None:
    """Make a log ready for appending after `read_log` said where its last record ends (`end`): cut what follows (a
    torn write), and end that record with its newline if a kill took it, so that the next record starts on a line
    of its own. Nothing to do for a log that does not exist."""
    if not path.exists():
        return
    with path.open("r+b") as fh:
        fh.truncate(end)
        if end:
            fh.seek(end - 1)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def _not_utf8(path: Path, raw: bytes, error: type[InputError | ConfigError]) -> InputError | ConfigError:
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        body.decode("utf-8")
        return located(error, "not valid UTF-8", file=str(path), hint=REENCODE_HINT)  # changed since it was read
    except UnicodeDecodeError as exc:
        start = exc.start
    line = body.count(b"\n", 0, start) + 1
    column = len(body[body.rfind(b"\n", 0, start) + 1 : start].decode("utf-8")) + 1
    return located(
        error,
        f"not valid UTF-8: byte 0x{body[start]:02x} at column {column} (the file is in another encoding)",
        file=str(path),
        line=line,
        hint=REENCODE_HINT,
    )


def located(
    error: type[InputError | ConfigError],
    message: str,
    *,
    file: str,
    line: int | None = None,
    field: str | None = None,
    hint: str | None = None,
) -> InputError | ConfigError:
    """An error naming file, line and field in InputError's layout, for either kind (ConfigError has no fields)."""
    problem = InputError(message, file=file, line=line, field=field, hint=hint)
    return problem if error is InputError else error(str(problem))


def parse_config(text: str, suffix: str, source: str, what: str) -> Any:
    """The TOML, JSON or YAML text (by the file's suffix) of a `what` ("rubric", ...); what does not parse is a
    ConfigError naming the line."""
    kind = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}.get(suffix.lower(), "TOML")
    line: int | None = None
    try:
        if kind == "JSON":
            return json.loads(text)
        if kind == "TOML":
            return tomllib.loads(text)
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            message = ": ".join(p for p in (exc.context, exc.problem) if p)
        except yaml.YAMLError as exc:
            message = str(exc)
    except json.JSONDecodeError as exc:
        line, message = exc.lineno, f"{exc.msg} (column {exc.colno})"
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the place in the message: "Invalid value (at line 3, column 9)".
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(found.group(1)) if found else None
        message = re.sub(r"\s*\(at (line \d+, )?column \d+\)|\s*\(at end of document\)", "", str(exc))
        if found:
            message += f" (column {found.group(2)})"
    except RecursionError:
        message = "nested too deeply to read"
    raise located(
        ConfigError,
        f"not a valid {what}: {kind} syntax error: {message}",
        file=source,
        line=line,
        hint=f"fix the {kind} syntax there",
    )


def write_csv(
    target: IO[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    float_format: str | None = None,
    line_end: str = "\n",
) -> None:
    """A CSV table into an open text file (opened with newline=""): None and NaN are empty cells, floats go through
    `float_format` (e.g. "%.4f") when given. The csv module, not pandas, so that the base install writes tables."""
    writer = csv.writer(target, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows([_csv_cell(value, float_format) for value in row] for row in rows)


def _csv_cell(value: Any, float_format: str | None) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if float_format is not None and isinstance(value, float):
        return float_format % value
    return value


def download(url: str, target: Path, *, size: int | None = None, sha256: str | None = None) -> None:
    """Fetch `url` into `target` through a temporary file next to it, renamed only once whole (and, where given,
    of the expected size and sha256), so that an interrupted or wrong download never leaves a file that looks
    whole. Any failure is an OSError (urllib's URLError is one) saying what went wrong."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    digest, received = hashlib.sha256(), 0
    try:
        with os.fdopen(descriptor, "wb") as out, urllib.request.urlopen(url, timeout=120) as response:
            while chunk := response.read(1 << 20):
                received += len(chunk)
                if size is not None and received > size:
                    raise OSError(f"more than the expected {size} bytes: not the expected file")
                digest.update(chunk)
                out.write(chunk)
        if size is not None and received != size:
            raise OSError(f"the download stopped at {received} of {size} bytes")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise OSError(f"not the expected file: sha256 {digest.hexdigest()}, expected {sha256}")
        os.replace(temporary, target)
    except http.client.HTTPException as exc:  # a response cut short (IncompleteRead) is not an OSError
        raise OSError(f"the response broke off: {exc!r}") from exc
    finally:
        Path(temporary).unlink(missing_ok=True)  # a partial file, whatever stopped it (once renamed, nothing)


def write_through_temporary(target: Path, write: Callable[[Path], object]) -> None:
    """Have `write(path)` write a temporary file next to `target`, then rename it over `target` only once whole, so
    that a crash or a reader never meets half a file: the old one stays until the new one is complete. Folders are
    made; a failure is an OSError, with no temporary file left behind. The one atomic writer of whole files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp's 0600 would make the output private to its writer
        os.close(descriptor)
        write(Path(temporary))
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)  # only a failure leaves it (once renamed, nothing)


def write_atomic(target: Path, text: str) -> None:
    """Write `text` (UTF-8) to `target` whole or not at all (write_through_temporary)."""
    write_through_temporary(target, lambda path: path.write_text(text, encoding="utf-8"))
