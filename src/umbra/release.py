"""From a real table to a gated release: holdout split, evaluation, report, then the write.

Example:
    >>> import umbra
    >>> real = umbra.datasets.load_demo()
    >>> train, holdout = split_holdout(real, 0.2, random_state=0)
    >>> len(train), len(holdout)
    (549, 137)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from umbra._random import RandomState, make_rng
from umbra.evaluation.gate import load_thresholds, parse_threshold, thresholds
from umbra.exceptions import InputError
from umbra.privacy.ledger import SOURCE_ATTR, fingerprint

MIN_HOLDOUT_ROWS = 5


def split_holdout(
    data: pd.DataFrame,
    share: float = 0.2,
    random_state: RandomState = None,
    *,
    by: Hashable | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside a random ``share`` of the rows (or of the entities in column ``by``, each
    with all its rows) that the model will never see.

    Both parts remember the whole table's fingerprint, so that the privacy ledger books a
    DP fit on either of them against the whole table (a new split is not a new budget).

    Example:
        >>> log = pd.DataFrame({"case": list("aabbccddee") * 2, "step": range(20)})
        >>> train, kept = split_holdout(log, 0.2, 0, by="case")
        >>> sorted(set(kept["case"])), len(kept)
        (['c'], 4)
    """
    if not 0 < share < 1:
        raise InputError(f"holdout share must be between 0 and 1 (exclusive), received {share}.")
    if by is not None and by not in data.columns:
        raise InputError(
            f"cannot hold out entities of {by!r}: no such column; the columns are "
            f"{list(data.columns)}"
        )
    groups = pd.factorize(data[by])[0] if by is not None else np.arange(len(data))
    units = int(groups.max()) + 1 if len(groups) else 0
    n_holdout = round(units * share)
    what = "rows" if by is None else f"entities of {by!r}"
    least = f"at least {MIN_HOLDOUT_ROWS} rows" if by is None else "at least one entity"
    if n_holdout < (MIN_HOLDOUT_ROWS if by is None else 1) or units - n_holdout < 2:
        raise InputError(
            f"the table has {units} {what}: too few to set aside {share:.0%} as a holdout "
            f"({least}, and two to train on). Give a holdout file with --holdout."
        )
    order = make_rng(random_state).permutation(units)
    kept = np.isin(groups, order[:n_holdout])
    source = data.attrs.get(SOURCE_ATTR) or fingerprint(data)
    parts = (
        data.iloc[np.flatnonzero(~kept)].reset_index(drop=True),
        data.iloc[np.flatnonzero(kept)].reset_index(drop=True),
    )
    for part in parts:  # a DP fit on either part books its spend on the whole table
        part.attrs[SOURCE_ATTR] = source
    return parts


def report_paths(output: Path, report: Path | None) -> tuple[Path, Path]:
    """The HTML report (default: next to ``output``) and its JSON twin.

    Example:
        >>> [p.name for p in report_paths(Path("out/synthetic.csv.gz"), None)]
        ['synthetic.report.html', 'synthetic.report.json']
    """
    if report is None:
        stem = output.name.split(".")[0] or "synthetic"
        report = output.with_name(f"{stem}.report.html")
    return report, report.with_suffix(".json")


@dataclass
class GateOptions:
    """Release-gate settings gathered from a config file and ``NAME=VALUE`` overrides."""

    config: Path | None = None
    overrides: list[str] = field(default_factory=list)
    allow_risky: bool = False

    def limits(self) -> dict[str, float]:
        """The thresholds to apply."""
        base: dict[str, Any] = load_thresholds(self.config) if self.config else {}
        base.update(dict(parse_threshold(text) for text in self.overrides))
        return thresholds(base)
