"""TREC files: queries, passages, qrels and runs, read into typed records; LLM qrels written back.

    queries   TSV `qid<TAB>text`, or JSONL {"id"|"qid", "text"|"query"}
    passages  TSV `docid<TAB>text`, or JSONL {"id"|"docid"|"pid", "text"|"contents"}
    qrels     `qid 0 docid grade` (whitespace-separated; grades on the TREC 0-3 scale)
    runs      `qid Q0 docid rank score tag`

A file is read as JSONL when its name ends in .jsonl/.json, else as TSV. Bad input is an InputError naming the
file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..errors import InputError
from ..files import open_text, read_jsonl, write_atomic

GRADES = (0, 1, 2, 3)  # 0 irrelevant, 1 related, 2 highly relevant, 3 perfectly relevant


class Query(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    text: str


class Passage(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    text: str


class Qrel(BaseModel):
    """One relevance judgment: `grade` of document `doc_id` for query `query_id`."""

    model_config = ConfigDict(frozen=True)
    query_id: str
    doc_id: str
    grade: int


class RunEntry(BaseModel):
    """One line of a run file: a retrieved document, its rank and score for a query."""

    model_config = ConfigDict(frozen=True)
    query_id: str
    doc_id: str
    rank: int
    score: float
    tag: str


def read_queries(path: str | Path) -> dict[str, Query]:
    """Queries by id, from TSV or JSONL."""
    texts = _read_texts(Path(path), ("id", "qid"), ("text", "query"), "query")
    return {key: Query(id=key, text=text) for key, text in texts.items()}


def read_passages(path: str | Path) -> dict[str, Passage]:
    """Passages by id, from TSV or JSONL."""
    texts = _read_texts(Path(path), ("id", "docid", "pid"), ("text", "contents"), "passage")
    return {key: Passage(id=key, text=text) for key, text in texts.items()}


def read_qrels(path: str | Path, grades: Iterable[int] = GRADES) -> list[Qrel]:
    """The judgments of a qrels file; a grade not in `grades` (the TREC 0-3 scale) is an InputError."""
    path, allowed = Path(path), sorted(set(grades))
    qrels: list[Qrel] = []
    for number, fields in _columns(path, 4, "qid 0 docid grade"):
        query_id, _, doc_id, grade = fields
        try:
            value = int(grade)
        except ValueError:
            value = None
        if value not in allowed:
            raise InputError(
                f"grade '{grade}' is not on the scale {allowed[0]}-{allowed[-1]}",
                file=str(path),
                line=number,
                field="grade",
                hint=f"use the TREC grades {', '.join(map(str, allowed))} (0 irrelevant ... 3 perfectly relevant)",
            )
        qrels.append(Qrel(query_id=query_id, doc_id=doc_id, grade=value))
    return qrels


def read_run(path: str | Path, queries: Mapping[str, object] | None = None) -> list[RunEntry]:
    """The lines of a run file. With `queries`, a line for a query not among them is an InputError."""
    path = Path(path)
    entries: list[RunEntry] = []
    for number, fields in _columns(path, 6, "qid Q0 docid rank score tag"):
        query_id, _, doc_id, rank, score, tag = fields
        if queries is not None and query_id not in queries:
            raise InputError(
                f"unknown query '{query_id}'",
                file=str(path),
                line=number,
                field="qid",
                hint="the run must be for the queries given with --queries; check that it is the right file",
            )
        try:
            entries.append(RunEntry(query_id=query_id, doc_id=doc_id, rank=int(rank), score=float(score), tag=tag))
        except ValueError:
            raise InputError(
                f"rank '{rank}' or score '{score}' is not a number",
                file=str(path),
                line=number,
                field="rank/score",
                hint="each line is `qid Q0 docid rank score tag`, rank an integer and score a number",
            ) from None
    return entries


def qrels_table(qrels: Iterable[Qrel]) -> dict[str, dict[str, int]]:
    """{query id: {doc id: grade}}, the shape the metrics take."""
    table: dict[str, dict[str, int]] = {}
    for q in qrels:
        table.setdefault(q.query_id, {})[q.doc_id] = q.grade
    return table


def run_table(entries: Iterable[RunEntry]) -> dict[str, list[str]]:
    """{query id: doc ids best first}: ordered by rank, then by score (highest first) where ranks tie."""
    by_query: dict[str, list[RunEntry]] = {}
    for e in entries:
        by_query.setdefault(e.query_id, []).append(e)
    return {q: [e.doc_id for e in sorted(es, key=lambda e: (e.rank, -e.score))] for q, es in by_query.items()}


def pool(runs: Iterable[Iterable[RunEntry]], depth: int) -> list[tuple[str, str]]:
    """The (query id, doc id) pairs in the top `depth` of any run, deduplicated, in a stable order."""
    seen: dict[tuple[str, str], None] = {}
    for entries in runs:
        for query_id, docs in run_table(entries).items():
            for doc_id in docs[:depth]:
                seen.setdefault((query_id, doc_id), None)
    return list(seen)


def write_qrels(path: str | Path, qrels: Iterable[Qrel]) -> None:
    """Write `qid 0 docid grade` lines (atomically)."""
    write_atomic(Path(path), "".join(f"{q.query_id} 0 {q.doc_id} {q.grade}\n" for q in qrels))


def example_path(name: str) -> Path:
    """A file of the bundled example, written by us: "queries.tsv", "passages.jsonl", "human.qrels", or the runs
    "dense.run", "bm25.run", "random.run" (see its README.md)."""
    path = Path(str(resources.files("jurist") / "retrieval" / "examples" / name))
    if not path.is_file():
        raise InputError(f"no bundled retrieval example '{name}'", hint="see jurist/retrieval/examples/README.md")
    return path


def _columns(path: Path, n: int, layout: str) -> Iterable[tuple[int, list[str]]]:
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != n:
                raise InputError(
                    f"expected {n} whitespace-separated columns, found {len(fields)}",
                    file=str(path),
                    line=number,
                    hint=f"each line is `{layout}`",
                )
            yield number, fields


def _read_texts(path: Path, id_keys: tuple[str, ...], text_keys: tuple[str, ...], what: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    if path.suffix in (".jsonl", ".json"):
        rows = ((number, record) for number, record in read_jsonl(path))
    else:
        rows = ((number, _tsv_row(path, number, line)) for number, line in _lines(path))
    for number, record in rows:
        if not isinstance(record, dict):
            raise InputError(f"a {what} must be a JSON object", file=str(path), line=number)
        key = next((record[k] for k in id_keys if record.get(k) not in (None, "")), None)
        if key is None:
            raise InputError(
                f"the {what} has no id",
                file=str(path),
                line=number,
                field=id_keys[0],
                hint=f"give each {what} an id under one of: {', '.join(id_keys)}",
            )
        text = next((record[k] for k in text_keys if isinstance(record.get(k), str)), None)
        if text is None:
            raise InputError(
                f"the {what} has no text",
                file=str(path),
                line=number,
                field=text_keys[0],
                hint=f"give each {what} its text under one of: {', '.join(text_keys)}",
            )
        key = str(key)
        if key in texts:
            raise InputError(f"{what} id '{key}' appears twice", file=str(path), line=number, field=id_keys[0])
        texts[key] = text
    return texts


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line.rstrip("\r\n")


def _tsv_row(path: Path, number: int, line: str) -> dict[str, str]:
    key, tab, text = line.partition("\t")
    if not tab:
        raise InputError(
            "no tab between the id and the text", file=str(path), line=number, hint="each line is `id<TAB>text`"
        )
    return {"id": key.strip(), "text": text}
