"""Tuning a judge: its training data (`jurist tune data`) and its evaluation before/after (`jurist tune eval`)."""

from ..backends.quantize import quantize_gguf
from .data import DataCard, TuneOptions, build_training_data, read_teacher
from .evaluate import TuneEvalOptions, TuneEvalReport, aevaluate_tuned, evaluate_tuned, render_tune_eval
from .export import export_adapter

__all__ = [
    "DataCard",
    "TuneEvalOptions",
    "TuneEvalReport",
    "TuneOptions",
    "aevaluate_tuned",
    "build_training_data",
    "evaluate_tuned",
    "export_adapter",
    "quantize_gguf",
    "read_teacher",
    "render_tune_eval",
]
