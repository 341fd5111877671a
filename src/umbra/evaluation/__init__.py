"""Comparing synthetic with real data."""

from umbra.evaluation.summary import Summary, summarize

__all__ = ["Summary", "summarize"]
