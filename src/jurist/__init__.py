"""jurist: LLM-as-a-judge, and judging the judges."""

from ._version import __version__
from .alignment.pairs import PairFilters, build_pairs
from .alignment.reward import areward, reward
from .alignment.self_reward import aself_reward, self_reward
from .api import JobOptions, Limits, RunResult, ajudge, judge, open_run
from .backends import Backend, BackendOptions, Capabilities, GenerateRequest, GenerateResponse, make_backend
from .backends.fake import FakeBackend
from .data import load_items
from .errors import BackendError, ConfigError, InputError, JuristError, ParseError
from .formats import Scale
from .judges import Judge, JudgeConfig, ListwiseJudge, PairwiseJudge, PointwiseJudge, make_judge
from .outcomes import Preference, Ranking, Score
from .run.runner import RunOptions
from .serve import JudgeServer, ServeOptions, aserve_judge, serve_judge
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
    "Ranking",
    "RunOptions",
    "RunResult",
    "Scale",
    "Score",
    "SelfConsistency",
    "ServeOptions",
    "Summary",
    "Turn",
    "Usage",
    "Verdict",
    "__version__",
    "ajudge",
    "areward",
    "aself_reward",
    "aserve_judge",
    "build_pairs",
    "judge",
    "load_items",
    "make_backend",
    "make_judge",
    "open_run",
    "reward",
    "self_reward",
    "serve_judge",
    "summarize",
]
