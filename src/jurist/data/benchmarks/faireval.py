"""FairEval (Wang et al., 2023, "Large Language Models are not Fair Evaluators"): the 80 Vicuna questions, answered
by ChatGPT (gpt-3.5-turbo) and Vicuna-13B, with one human judgment per pair (ChatGPT better, Vicuna-13B better, or
a tie).

The data set is spread over four files, as the authors' repository (i-Eval/FairEval) lays them out:
    question.jsonl                            {question_id, text, category}, one question a line
    answer/answer_gpt35.jsonl                 {question_id, text, model_id, answer_id}: ChatGPT's answers
    answer/answer_vicuna-13b.jsonl            the same for Vicuna-13B
    review/review_gpt35_vicuna-13b_human.txt  one word a line: CHATGPT, VICUNA13B or TIE; line n labels question n
It is the example of a loader that joins several files (see "Writing a loader" in docs/guide.md): each file is read
with the shared readers, joined by question id (the labels by position, as the authors' file has no ids), every
mismatch is an error naming its file and line, and the joined records go through `items_from_rows` like any file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import InputError
from ...files import read_text
from ..load import LoadedData, items_from_rows
from .sources import Source, field, locate, read_jsonl

SOURCE = Source("faireval", "i-Eval/FairEval", "453c117a69159fd7b7de2f4e0519bac57bee21f4", lambda path: path)
QUESTIONS = "question.jsonl"
ANSWERS = ("answer/answer_gpt35.jsonl", "answer/answer_vicuna-13b.jsonl")  # response A, response B
REVIEW = "review/review_gpt35_vicuna-13b_human.txt"
VOTES = {"CHATGPT": "A", "VICUNA13B": "B", "TIE": "tie"}


def load_faireval(root: str | Path | None = None) -> LoadedData:
    """FairEval's human-labelled pairs: prompt = the question, A = ChatGPT's answer, B = Vicuna-13B's, label from
    the human review ("CHATGPT" -> A, "VICUNA13B" -> B, "TIE" -> tie). Metadata: `category` (and `subset`, the
    same) and `models` (the two answers' model_id, A first). Ids are `faireval-<question_id>`. `root` is a copy
    of the repository (else $JURIST_DATA_DIR/faireval, else a download)."""
    questions_path = locate(SOURCE, QUESTIONS, root)
    questions = list(read_jsonl(questions_path))
    answers = [_answers(locate(SOURCE, name, root)) for name in ANSWERS]
    review_path = locate(SOURCE, REVIEW, root)
    votes = [(n, line.strip()) for n, line in enumerate(read_text(review_path).splitlines(), start=1) if line.strip()]
    if len(votes) != len(questions):
        raise InputError(
            f"{len(votes)} human labels for {len(questions)} questions",
            file=str(review_path),
            hint=f"line n labels the n-th question of {questions_path.name}: the files must have as many",
        )
    rows = []
    for (where, question), (vote_line, vote) in zip(questions, votes, strict=True):
        if vote.upper() not in VOTES:
            raise InputError(f"label '{vote}' is not one of {', '.join(VOTES)}", file=str(review_path), line=vote_line)
        key = str(field(question, "question_id", questions_path, where, "scalar"))
        pair = [_answer(by_id, key, path) for path, by_id in answers]
        category = question.get("category")
        rows.append(
            (
                where,
                {
                    "id": f"faireval-{key}",
                    "prompt": field(question, "text", questions_path, where),
                    "response_a": pair[0][0],
                    "response_b": pair[1][0],
                    "label": vote.upper(),
                    "category": category,
                    "subset": category,
                    "models": [pair[0][1], pair[1][1]],
                },
            )
        )
    return items_from_rows(rows, "pairwise", None, path=str(questions_path), unit="line", label_map=VOTES)


def _answers(path: Path) -> tuple[Path, dict[str, tuple[str, Any]]]:
    """One answer file: question id -> (the answer's text, its model_id)."""
    by_id: dict[str, tuple[str, Any]] = {}
    for where, record in read_jsonl(path):
        key = str(field(record, "question_id", path, where, "scalar"))
        if key in by_id:
            raise InputError(f"a second answer to question {key}", file=str(path), line=where, field="question_id")
        by_id[key] = (field(record, "text", path, where), record.get("model_id"))
    return path, by_id


def _answer(by_id: dict[str, tuple[str, Any]], key: str, path: Path) -> tuple[str, Any]:
    if key not in by_id:
        raise InputError(
            f"no answer to question {key}", file=str(path), hint="every question needs an answer in both files"
        )
    return by_id[key]
