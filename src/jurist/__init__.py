"""jurist: LLM-as-a-judge, and judging the judges."""

__version__ = "0.1.0"

from .api import JobOptions, Limits, RunResult, ajudge, judge, open_run  # noqa: E402
from .backends import Backend, BackendOptions, Capabilities, GenerateRequest, GenerateResponse, make_backend  # noqa: E402
from .backends.fake import FakeBackend  # noqa: E402
from .data import load_items  # noqa: E402
from .errors import BackendError, ConfigError, InputError, JuristError, ParseError  # noqa: E402
from .judges import JudgeConfig, ListwiseJudge, PairwiseJudge, PointwiseJudge, make_judge  # noqa: E402
from .run.runner import RunOptions  # noqa: E402
from .scales import Scale  # noqa: E402
from .summary import Summary, summarize  # noqa: E402
from .types import Item, Usage, Verdict  # noqa: E402

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "Capabilities",
    "ConfigError",
    "FakeBackend",
    "GenerateRequest",
    "GenerateResponse",
    "InputError",
    "Item",
    "JobOptions",
    "JudgeConfig",
    "JuristError",
    "Limits",
    "ListwiseJudge",
    "PairwiseJudge",
    "ParseError",
    "PointwiseJudge",
    "RunOptions",
    "RunResult",
    "Scale",
    "Summary",
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
