"""`jurist serve`: a judge behind HTTP for RL training loops (rewards for batches, OpenRLHF's remote reward model
protocol, Prometheus metrics, back-pressure). See server.py for how it judges, queues and stops."""

from .protocol import ItemResult, JudgeRequest, JudgeResponse, RewardRequest, reward_of, split_query
from .server import TOKEN_ENV, JudgeServer, ServeOptions, aserve_judge, serve_judge

__all__ = [
    "TOKEN_ENV",
    "ItemResult",
    "JudgeRequest",
    "JudgeResponse",
    "JudgeServer",
    "RewardRequest",
    "ServeOptions",
    "aserve_judge",
    "reward_of",
    "serve_judge",
    "split_query",
]
