"""Model backends behind one async interface. Each is imported only when a spec names it (see registry.py)."""

from __future__ import annotations

from .base import Backend, Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob
from .registry import BackendFactory, BackendOptions, available_specs, make_backend

__all__ = [
    "Backend",
    "BackendFactory",
    "BackendOptions",
    "Capabilities",
    "GenerateRequest",
    "GenerateResponse",
    "Message",
    "TokenLogprob",
    "available_specs",
    "make_backend",
]
