"""Comparing synthetic with real data."""

from umbra.evaluation.evaluate import evaluate
from umbra.evaluation.result import Evaluation, GateCheck, Metric
from umbra.evaluation.summary import Summary, summarize

__all__ = ["Evaluation", "GateCheck", "Metric", "Summary", "evaluate", "summarize"]
