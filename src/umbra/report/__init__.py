"""The self-contained HTML report (inline SVG plots, no network) of an evaluation."""

from umbra.report.html import render

__all__ = ["render"]
