"""jurist: LLM-as-a-judge, and judging the judges.

The public names are imported on first use (PEP 562), so that `import jurist.X` and the command line pay only for
the modules they use; type checkers and IDEs read the imports below."""

import importlib as _importlib
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from .agents import TrajectoryJudge, TrajectoryReport, ajudge_trajectories, judge_trajectories
    from .align import AlignOptions, AlignReport
    from .alignment.pairs import PairFilters, build_pairs
    from .alignment.reward import areward, reward
    from .alignment.self_reward import aself_reward, self_reward
    from .api import JobOptions, Limits, RunResult, ajudge, judge, open_run
    from .backends import Backend, BackendOptions, Capabilities, GenerateRequest, GenerateResponse, make_backend
    from .backends.base import ImagePart
    from .backends.fake import FakeBackend
    from .data import load_items
    from .data.load import ItemStream, stream_items
    from .errors import BackendError, ConfigError, InputError, JuristError, ParseError
    from .formats import Scale
    from .gate import check_thresholds
    from .issues import IssueReport, IssuesOptions, aanalyse_issues, analyse_issues
    from .judges import Judge, JudgeConfig, ListwiseJudge, PairwiseJudge, PointwiseJudge, make_judge
    from .outcomes import Preference, Ranking, Score
    from .quant import CalibrationResult, ScoreModel
    from .rag import ContextRelevanceJudge, GroundednessJudge, RagReport, aevaluate_rag, evaluate_rag
    from .reasoning import aequivalent, averify_steps, equivalent, verify_steps
    from .report import build_report, write_report
    from .retrieval import ajudge_qrels, judge_qrels
    from .retrieval.rerank import RerankReport, RerankResult, arerank, rerank
    from .review import ReviewOptions, ReviewStore, aserve_review, review_labels, serve_review
    from .run.batch import BatchOptions
    from .run.runner import RunOptions
    from .scale.ray_data import RayOptions, ajudge_ray, judge_ray
    from .serve import JudgeServer, ServeOptions, aserve_judge, serve_judge
    from .strategies import Cascade, Debate, Interview, Jury, PeerDiscussion, ProgramJudge, SelfConsistency
    from .summary import Summary, summarize
    from .tune import (
        TuneEvalOptions,
        TuneEvalReport,
        TuneOptions,
        aevaluate_tuned,
        build_training_data,
        evaluate_tuned,
        export_adapter,
        quantize_gguf,
    )
    from .tune.train import TrainOptions, TrainRecord
    from .types import Item, Turn, Usage, Verdict

# public name -> the module that defines it
_HOMES = {
    "quantize_gguf": "jurist.tune",
    "export_adapter": "jurist.tune",
    "stream_items": "jurist.data.load",
    "ItemStream": "jurist.data.load",
    "aevaluate_tuned": "jurist.tune",
    "evaluate_tuned": "jurist.tune",
    "TuneEvalReport": "jurist.tune",
    "TuneEvalOptions": "jurist.tune",
    "TrainRecord": "jurist.tune.train",
    "TrainOptions": "jurist.tune.train",
    "RayOptions": "jurist.scale.ray_data",
    "ajudge_ray": "jurist.scale.ray_data",
    "judge_ray": "jurist.scale.ray_data",
    "aanalyse_issues": "jurist.issues",
    "analyse_issues": "jurist.issues",
    "IssueReport": "jurist.issues",
    "IssuesOptions": "jurist.issues",
    "CalibrationResult": "jurist.quant",
    "ScoreModel": "jurist.quant",
    "ProgramJudge": "jurist.strategies",
    "TrajectoryReport": "jurist.agents",
    "TrajectoryJudge": "jurist.agents",
    "judge_trajectories": "jurist.agents",
    "ajudge_trajectories": "jurist.agents",
    "TuneOptions": "jurist.tune",
    "build_training_data": "jurist.tune",
    "AlignReport": "jurist.align",
    "AlignOptions": "jurist.align",
    "ImagePart": "jurist.backends.base",
    "ContextRelevanceJudge": "jurist.rag",
    "GroundednessJudge": "jurist.rag",
    "RagReport": "jurist.rag",
    "aevaluate_rag": "jurist.rag",
    "evaluate_rag": "jurist.rag",
    "check_thresholds": "jurist.gate",
    "BatchOptions": "jurist.run.batch",
    "RerankResult": "jurist.retrieval.rerank",
    "RerankReport": "jurist.retrieval.rerank",
    "arerank": "jurist.retrieval.rerank",
    "rerank": "jurist.retrieval.rerank",
    "ReviewStore": "jurist.review",
    "ReviewOptions": "jurist.review",
    "aserve_review": "jurist.review",
    "serve_review": "jurist.review",
    "review_labels": "jurist.review",
    "write_report": "jurist.report",
    "build_report": "jurist.report",
    "aequivalent": "jurist.reasoning",
    "averify_steps": "jurist.reasoning",
    "equivalent": "jurist.reasoning",
    "verify_steps": "jurist.reasoning",
    "ajudge_qrels": "jurist.retrieval",
    "judge_qrels": "jurist.retrieval",
    "Backend": "jurist.backends",
    "BackendError": "jurist.errors",
    "BackendOptions": "jurist.backends",
    "Capabilities": "jurist.backends",
    "Cascade": "jurist.strategies",
    "ConfigError": "jurist.errors",
    "Debate": "jurist.strategies",
    "FakeBackend": "jurist.backends.fake",
    "GenerateRequest": "jurist.backends",
    "GenerateResponse": "jurist.backends",
    "InputError": "jurist.errors",
    "Interview": "jurist.strategies",
    "Item": "jurist.types",
    "JobOptions": "jurist.api",
    "Judge": "jurist.judges",
    "JudgeConfig": "jurist.judges",
    "JudgeServer": "jurist.serve",
    "JuristError": "jurist.errors",
    "Jury": "jurist.strategies",
    "Limits": "jurist.api",
    "ListwiseJudge": "jurist.judges",
    "PairFilters": "jurist.alignment.pairs",
    "PairwiseJudge": "jurist.judges",
    "ParseError": "jurist.errors",
    "PeerDiscussion": "jurist.strategies",
    "PointwiseJudge": "jurist.judges",
    "Preference": "jurist.outcomes",
    "Ranking": "jurist.outcomes",
    "RunOptions": "jurist.run.runner",
    "RunResult": "jurist.api",
    "Scale": "jurist.formats",
    "Score": "jurist.outcomes",
    "SelfConsistency": "jurist.strategies",
    "ServeOptions": "jurist.serve",
    "Summary": "jurist.summary",
    "Turn": "jurist.types",
    "Usage": "jurist.types",
    "Verdict": "jurist.types",
    "ajudge": "jurist.api",
    "areward": "jurist.alignment.reward",
    "aself_reward": "jurist.alignment.self_reward",
    "aserve_judge": "jurist.serve",
    "build_pairs": "jurist.alignment.pairs",
    "judge": "jurist.api",
    "load_items": "jurist.data",
    "make_backend": "jurist.backends",
    "make_judge": "jurist.judges",
    "open_run": "jurist.api",
    "reward": "jurist.alignment.reward",
    "self_reward": "jurist.alignment.self_reward",
    "serve_judge": "jurist.serve",
    "summarize": "jurist.summary",
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jurist' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AlignOptions",
    "AlignReport",
    "Backend",
    "BackendError",
    "BackendOptions",
    "BatchOptions",
    "CalibrationResult",
    "Capabilities",
    "Cascade",
    "ConfigError",
    "ContextRelevanceJudge",
    "Debate",
    "FakeBackend",
    "GenerateRequest",
    "GenerateResponse",
    "GroundednessJudge",
    "ImagePart",
    "InputError",
    "Interview",
    "IssueReport",
    "IssuesOptions",
    "Item",
    "ItemStream",
    "JobOptions",
    "Judge",
    "JudgeConfig",
    "JudgeServer",
    "JuristError",
    "Jury",
    "Limits",
    "ListwiseJudge",
    "PairFilters",
    "PairwiseJudge",
    "ParseError",
    "PeerDiscussion",
    "PointwiseJudge",
    "Preference",
    "ProgramJudge",
    "RagReport",
    "Ranking",
    "RayOptions",
    "RerankReport",
    "RerankResult",
    "ReviewOptions",
    "ReviewStore",
    "RunOptions",
    "RunResult",
    "Scale",
    "Score",
    "ScoreModel",
    "SelfConsistency",
    "ServeOptions",
    "Summary",
    "TrainOptions",
    "TrainRecord",
    "TrajectoryJudge",
    "TrajectoryReport",
    "TuneEvalOptions",
    "TuneEvalReport",
    "TuneOptions",
    "Turn",
    "Usage",
    "Verdict",
    "__version__",
    "aanalyse_issues",
    "aequivalent",
    "aevaluate_rag",
    "aevaluate_tuned",
    "ajudge",
    "ajudge_qrels",
    "ajudge_ray",
    "ajudge_trajectories",
    "analyse_issues",
    "arerank",
    "areward",
    "aself_reward",
    "aserve_judge",
    "aserve_review",
    "averify_steps",
    "build_pairs",
    "build_report",
    "build_training_data",
    "check_thresholds",
    "equivalent",
    "evaluate_rag",
    "evaluate_tuned",
    "export_adapter",
    "judge",
    "judge_qrels",
    "judge_ray",
    "judge_trajectories",
    "load_items",
    "make_backend",
    "make_judge",
    "open_run",
    "quantize_gguf",
    "rerank",
    "review_labels",
    "reward",
    "self_reward",
    "serve_judge",
    "serve_review",
    "stream_items",
    "summarize",
    "verify_steps",
    "write_report",
]
