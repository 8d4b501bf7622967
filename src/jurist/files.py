"""Reading the files users give: data, templates, rubrics, rule sets, strategies, replays.

Text is UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" and Notepad write one; left in, it would
hide the first column's name). Other encodings are refused with the file and line, never guessed. TOML, JSON and
YAML that do not parse name the line where the parser stopped.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import ConfigError, InputError

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
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                message = f"malformed JSON at column {exc.colno}: {exc.msg}"
            except RecursionError:
                message, hint = "JSON nested too deeply to read", "flatten the record's values"
            else:
                yield number, record
                continue
            raise located(error, message, file=str(path), line=number, hint=hint)


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
