"""SummEval (Fabbri et al., 2021): 100 CNN/DailyMail articles x 16 system summaries, each scored by 3 experts on
coherence, consistency, fluency and relevance (1-5). The copy read here is PPairS's `summeval.jsonl`, which holds
the mean of the three expert ratings per aspect (not the single ratings) and numbers the summaries `S0`..`S15`
within each article instead of naming the model that wrote them."""

from __future__ import annotations

from pathlib import Path

from ..load import LoadedData, items_from_rows
from .sources import Source, choose, field, locate, read_jsonl, under

SOURCE = Source("summeval", "maiush/PPairS", "0beef748c02726db1a781784eeb19bae8d219c19", under("data"))
FILE = "summeval.jsonl"
ASPECTS = ("coherence", "consistency", "fluency", "relevance")


def load_summeval(aspect: str = "coherence", root: str | Path | None = None) -> LoadedData:
    """SummEval as pointwise items, label = the chosen aspect's expert mean (1-5).

    The prompt is the article alone, with no instruction added: like G-Eval's "source text", it is what the summary
    is judged against, and the task ("summarise", and which aspect to rate) belongs in the judge's rubric.
    Metadata: `group` = article id (for summary-level correlation: per article, over its 16 summaries),
    `system` = the summary's slot `S0`..`S15`, `scores` = all four aspects, `aspect` = the one in the label.
    """
    chosen = choose(aspect, {a: a for a in ASPECTS}, "SummEval aspect", "coherence")
    path = locate(SOURCE, FILE, root)
    rows = []
    for where, record in read_jsonl(path):
        article_id = field(record, "article_id", path, where)
        summary_id = field(record, "summary_id", path, where)
        scores = {a: float(field(record, a, path, where, "number")) for a in ASPECTS}
        rows.append(
            (
                where,
                {
                    "id": f"summeval-{article_id}-{summary_id}",
                    "prompt": field(record, "article", path, where),
                    "response": field(record, "summary", path, where),
                    "label": scores[chosen],
                    "group": article_id,
                    "system": summary_id,
                    "scores": scores,
                    "aspect": chosen,
                },
            )
        )
    return items_from_rows(rows, "pointwise", None, path=str(path), unit="line")
