"""jurist: LLM-as-a-judge, and judging the judges."""

from ._version import __version__
from .api import JobOptions, Limits, RunResult, ajudge, judge, open_run
from .backends import Backend, BackendOptions, Capabilities, GenerateRequest, GenerateResponse, make_backend
from .backends.fake import FakeBackend
from .data import load_items
from .errors import BackendError, ConfigError, InputError, JuristError, ParseError
from .formats import Scale
from .judges import Judge, JudgeConfig, ListwiseJudge, PairwiseJudge, PointwiseJudge, make_judge
from .outcomes import Preference, Ranking, Score
from .run.runner import RunOptions
from .strategies import Cascade, Debate, Interview, Jury, PeerDiscussion, SelfConsistency
from .summary import Summary, summarize
from .types import Item, Turn, Usage, Verdict

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "Capabilities",
    "Cascade",
    "ConfigError",
    "Debate",
    "FakeBackend",
    "GenerateRequest",
    "GenerateResponse",
    "InputError",
    "Interview",
    "Item",
    "JobOptions",
    "Judge",
    "JudgeConfig",
    "JuristError",
    "Jury",
    "Limits",
    "ListwiseJudge",
    "PairwiseJudge",
    "ParseError",
    "PeerDiscussion",
    "PointwiseJudge",
    "Preference",
    "Ranking",
    "RunOptions",
    "RunResult",
    "Scale",
    "Score",
    "SelfConsistency",
    "Summary",
    "Turn",
    "Usage",
    "Verdict",
    "__version__",
    "ajudge",
    "judge",
    "load_items",
    "make_backend",
    "make_judge",
    "open_run",
    "summarize",
]
