"""prometheus-eval (LiteLLM, async) judging the items pointwise (absolute grade, 1-5) through an OpenAI-compatible
server. Runs in prometheus-eval's own virtualenv (bench/peers/setup.sh). Usage: python THIS DATA URL CONCURRENCY OUT

The library sends its requests in batches of `batch_size` (here the concurrency), each batch gathered before the
next starts, and retries unparsable answers itself; it is used as its README shows, with the rate limit lifted.
"""

from __future__ import annotations

import json
import sys

from prometheus_eval import PrometheusEval
from prometheus_eval.litellm import AsyncLiteLLM
from prometheus_eval.prompts import ABSOLUTE_PROMPT_WO_REF, SCORE_RUBRIC_TEMPLATE

RUBRIC = SCORE_RUBRIC_TEMPLATE.format(
    criteria="Is the response helpful and correct?",
    score1_description="Unhelpful or wrong.",
    score2_description="Mostly unhelpful.",
    score3_description="Partly helpful.",
    score4_description="Helpful with minor issues.",
    score5_description="Fully helpful and correct.",
)


def main(data: str, url: str, concurrency: int, out: str) -> None:
    with open(data) as f:
        items = [json.loads(line) for line in f if line.strip()]
    model = AsyncLiteLLM("openai/fake-model", api_base=url, batch_size=concurrency, requests_per_minute=10**9)
    judge = PrometheusEval(model=model, absolute_grade_template=ABSOLUTE_PROMPT_WO_REF)
    _, scores = judge.absolute_grade(
        instructions=[it["prompt"] for it in items],
        responses=[it["response"] for it in items],
        rubric=RUBRIC,
        params={"temperature": 0.0, "max_tokens": 64},
    )
    with open(out, "w") as f:
        for item, score in zip(items, scores, strict=True):
            f.write(json.dumps({"id": item["id"], "score": score}) + "\n")
    print(json.dumps({"judged": len(scores), "failed": sum(s is None for s in scores)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
