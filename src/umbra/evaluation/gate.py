"""The release gate: privacy thresholds a synthetic table must meet before it is written.

Defaults (each settable in a TOML or JSON config file, or with ``--threshold NAME=VALUE``):

==============================  =======  ===================================================
check                           maximum  meaning
==============================  =======  ===================================================
exact_copy_excess               0.005    copies of training rows beyond the holdout's own rate
dcr_share                       0.60     share of synthetic rows closer to train than holdout
membership_auc                  0.60     distance attack telling members from non-members
singling_out_excess             0.02     unique quasi-identifier combinations reproduced,
                                         beyond the holdout's rate
attribute_inference_excess      0.05     extra accuracy (or R^2) about sensitive columns of
                                         members, over an attacker trained on the holdout
exact_copy_share                0.01     used instead of the excess when there is no holdout
unique_trace_copy_excess        0.02     sequences: synthetic entities repeating a path that
                                         only one real entity took, beyond the holdout's rate
==============================  =======  ===================================================

Example:
    >>> from umbra.evaluation.result import Evaluation, Metric
    >>> ev = Evaluation([Metric("privacy", "dcr_share", 0.9, "target", target=0.5)])
    >>> apply_gate(ev)
    >>> ev.verdict, ev.gate[0].describe()
    ('fail', 'dcr_share = 0.9 (must be <= 0.6): FAILED')
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from umbra.evaluation.result import Evaluation, GateCheck
from umbra.exceptions import InputError

DEFAULT_THRESHOLDS: dict[str, float] = {
    "exact_copy_excess": 0.005,
    "dcr_share": 0.60,
    "membership_auc": 0.60,
    "singling_out_excess": 0.02,
    "attribute_inference_excess": 0.05,
    "exact_copy_share": 0.01,
    "unique_trace_copy_excess": 0.02,
}
EXPLAIN = {
    "exact_copy_excess": "synthetic rows copy training rows more often than unseen real rows do",
    "dcr_share": "synthetic rows sit closer to training rows than to unseen real rows",
    "membership_auc": "an attacker can tell who was in the training data",
    "singling_out_excess": "unique real people are reproduced on their quasi-identifiers",
    "attribute_inference_excess": "the synthetic data reveals sensitive values of members",
    "exact_copy_share": "synthetic rows copy training rows",
    "unique_trace_copy_excess": "synthetic entities repeat paths that identify one real entity",
}


def thresholds(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The defaults with ``overrides`` applied; unknown names and non-numbers are errors."""
    out = dict(DEFAULT_THRESHOLDS)
    for name, value in (overrides or {}).items():
        if name not in DEFAULT_THRESHOLDS:
            raise InputError(
                f"unknown gate threshold {name!r}; known: {', '.join(DEFAULT_THRESHOLDS)}."
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"gate threshold {name!r} must be a number, received {value!r}.")
        out[name] = float(value)
    return out


def load_thresholds(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read thresholds from a TOML (``[gate]`` table) or JSON (``{"gate": {...}}``) file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such gate config file.")
    try:
        text = p.read_text(encoding="utf-8")
        payload = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot be parsed ({exc}).") from None
    section = payload.get("gate", payload)
    if not isinstance(section, dict):
        raise InputError(f"{p}: expected a [gate] table of name = number.")
    return thresholds(section)


def parse_threshold(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` from the command line.

    Example:
        >>> parse_threshold("dcr_share=0.55")
        ('dcr_share', 0.55)
    """
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise InputError(f"--threshold expects NAME=NUMBER, received {text!r}.") from None


def apply_gate(ev: Evaluation, limits: dict[str, float] | None = None) -> None:
    """Compare the privacy metrics with their maxima and store the checks in ``ev.gate``."""
    limits = thresholds(limits)
    names = {m.name for m in ev.family("privacy")}
    checked = ["dcr_share", "membership_auc", "singling_out_excess", "unique_trace_copy_excess"]
    checked.insert(0, "exact_copy_excess" if "exact_copy_excess" in names else "exact_copy_share")
    ev.gate = []
    for name in checked:
        if name in names:
            value = ev.get(name).value
            ev.gate.append(_check(name, value, limits[name]))
    excess = [m for m in ev.family("privacy") if m.name == "attribute_inference_excess"]
    for metric in excess:
        check = _check(metric.name, metric.value, limits[metric.name])
        check.metric = f"attribute_inference_excess[{metric.column}]"
        ev.gate.append(check)


def _check(name: str, value: float | None, limit: float) -> GateCheck:
    passed = value is not None and value <= limit
    return GateCheck(name, value, limit, "<=", passed, EXPLAIN[name])
