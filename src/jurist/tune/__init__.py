"""Tuning a judge: its training data (`jurist tune data`)."""

from .data import DataCard, TuneOptions, build_training_data, read_teacher

__all__ = ["DataCard", "TuneOptions", "build_training_data", "read_teacher"]
