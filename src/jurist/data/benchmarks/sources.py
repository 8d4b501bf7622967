"""Where the benchmark files come from, and the small readers every loader shares.

A file is looked up in this order: the `root` folder a caller gives (laid out like the dataset's own folder);
else `$JURIST_DATA_DIR/<folder>/`; else the download cache (`$XDG_CACHE_HOME/jurist/data/<folder>/`, by default
`~/.cache/jurist/data/<folder>/`), fetching it once from the dataset's public repository when it is not there yet.
The download base URL is `$JURIST_DATA_URL` when set (a mirror, or a `file://` folder for offline use), else raw
GitHub; below it the layout is `<owner>/<repo>/<ref>/<path in the repository>`.
"""

from __future__ import annotations

import gzip
import os
import random
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ... import files
from ...errors import ConfigError, InputError
from ...files import decode, parse_json
from ...files import read_jsonl as read_jsonl_lines

RAW_GITHUB = "https://raw.githubusercontent.com"
DATA_DIR_ENV = "JURIST_DATA_DIR"
DATA_URL_ENV = "JURIST_DATA_URL"


@dataclass(frozen=True)
class Source:
    """A dataset's local folder name and its public home: `remote` maps a local relative path to the repo path."""

    folder: str
    repo: str
    ref: str  # a commit where the data description names one, else the default branch
    remote: Callable[[str], str]

    def url(self, relative: str, base_url: str | None = None) -> str:
        base = (base_url or os.environ.get(DATA_URL_ENV) or RAW_GITHUB).rstrip("/")
        # quoted: some paths hold characters a URL may not (LLMBar's "Processed/LLMEval^2")
        return f"{base}/{self.repo}/{self.ref}/{urllib.parse.quote(self.remote(relative))}"


def under(prefix: str) -> Callable[[str], str]:
    """The usual case: the local folder mirrors one folder of the repository."""
    return lambda relative: f"{prefix}/{relative}"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jurist" / "data"


def dataset_dir(source: Source, root: str | Path | None) -> Path:
    """The folder the dataset's files are read from (it may not exist yet when it is the download cache)."""
    if root is not None:
        return Path(root)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env) / source.folder
    return cache_dir() / source.folder


def is_local(root: str | Path | None) -> bool:
    """Whether files come from a folder the user gave (never downloaded), rather than from the cache."""
    return root is not None or bool(os.environ.get(DATA_DIR_ENV))


def locate(source: Source, relative: str, root: str | Path | None = None, *, base_url: str | None = None) -> Path:
    """The local path of one dataset file, downloading it into the cache when neither `root` nor
    `$JURIST_DATA_DIR` is given and the cache does not have it yet."""
    url = source.url(relative, base_url)
    env = os.environ.get(DATA_DIR_ENV)
    path = dataset_dir(source, root) / relative
    if path.exists():
        return path
    if root is not None:
        raise InputError(
            f"the {source.folder} file {relative} is not in the given folder",
            file=str(path),
            hint=f"download it from {url}, or leave the folder unset to download it into {cache_dir()}",
        )
    if env:
        raise InputError(
            f"the {source.folder} file {relative} is not under {DATA_DIR_ENV}={env}",
            file=str(path),
            hint=f"download it from {url} to that path, or unset {DATA_DIR_ENV} to download it into {cache_dir()}",
        )
    download(url, path)
    return path


def download(url: str, target: Path) -> None:
    """Fetch `url` into `target` (files.download: an interrupted download never leaves a partial file)."""
    try:
        files.download(url, target)
    except OSError as exc:  # urllib's URLError is one
        raise InputError(
            f"could not download {url}: {getattr(exc, 'reason', exc)}",
            file=str(target),
            hint=f"check the network, or fetch the file by hand to this path, or set {DATA_DIR_ENV} to a folder "
            "that holds the data sets",
        ) from None


# -- reading -----------------------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A JSON file, or a gzip-compressed one (`.gz`, as some local copies store large files)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path), hint="delete the file and fetch it again") from None
    hint = "the file may be truncated; delete it to download it again, or fetch it by hand"
    return parse_json(decode(raw, path), file=str(path), hint=hint)


def read_json_list(path: Path) -> list[tuple[int, Any]]:
    """A JSON list as (record number from 1, record); the numbers are what errors report as rows."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(f"expected a JSON list, got {type(data).__name__}", file=str(path), hint=_FORMAT_HINT)
    return list(enumerate(data, start=1))


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record) for each non-blank line (jurist's own JSONL reader, with this module's hint)."""
    return read_jsonl_lines(path, hint=_FORMAT_HINT)


_FORMAT_HINT = "the file does not have the published layout; fetch it again from the dataset's repository"


Kind = Literal["text", "number", "scalar", "list", "object"]
_KINDS: dict[str, tuple[type, ...]] = {
    "text": (str, bool),
    "number": (int, float),
    "scalar": (str, int, float),  # a label some files write as 1 and others as "1"
    "list": (list,),
    "object": (dict,),
}


def field(record: Any, key: str, path: Path, where: int, kind: Kind = "text") -> Any:
    """A required field of a source record, checked for its kind, or an InputError naming the file and row.

    Text accepts a JSON boolean: PandaLM stores a model's answer "True" as true (items_from_rows turns it back
    into the word). A number refuses one, since true/false where a score belongs means the row is malformed.
    """
    if not isinstance(record, dict):
        raise InputError(
            f"expected an object with fields, got {type(record).__name__}",
            file=str(path),
            line=where,
            hint=_FORMAT_HINT,
        )
    value = record.get(key)
    if value is None:
        raise InputError("missing", file=str(path), line=where, field=key, hint=_FORMAT_HINT)
    if not isinstance(value, _KINDS[kind]) or (kind in ("number", "scalar") and isinstance(value, bool)):
        raise InputError(
            f"expected {kind}, got {type(value).__name__} ({value!r})",
            file=str(path),
            line=where,
            field=key,
            hint=_FORMAT_HINT,
        )
    return value


def choose(value: str | None, known: dict[str, str], what: str, default: str) -> str:
    """Match `value` to one of `known` (keys lowercased), or a ConfigError that lists them."""
    if value is None:
        return default
    canonical = known.get(value.lower())
    if canonical is None:
        raise ConfigError(f"unknown {what} '{value}'; choose one of: {', '.join(dict.fromkeys(known.values()))}")
    return canonical


def shuffled_order(item_id: str, seed: int) -> bool:
    """Whether the correct response goes second. Seeded by item id, so an item keeps its order across runs and
    subsets; about half the items end up each way, so always answering "A" scores about chance."""
    return random.Random(f"{seed}:{item_id}").random() < 0.5


def seeded_pair(item_id: str, seed: int, better: str, worse: str) -> tuple[dict[str, str], bool]:
    """A pair's response_a, response_b and label, the better response placed by `shuffled_order`; and whether it
    went second."""
    second = shuffled_order(item_id, seed)
    fields = {"response_a": worse if second else better, "response_b": better if second else worse}
    return {**fields, "label": "B" if second else "A"}, second
