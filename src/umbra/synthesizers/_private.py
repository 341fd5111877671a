"""The privacy plan of a DP-SGD fit: what the domain costs, what training gets, the record.

A fit with ``epsilon`` spends, by basic composition, ``preprocessing_share`` of epsilon (and a
third of delta, plus another third for category thresholds) learning the undeclared parts of
the domain under DP (:func:`umbra.privacy.domain.discover`), and the rest on DP-SGD; with the
whole domain declared, DP-SGD gets all of it. The data is then made to fit the public domain
(:func:`umbra.privacy.domain.conform`) so that no record decides the encoding.

Example:
    >>> from umbra.metadata.spec import ColumnSpec, Metadata
    >>> meta = Metadata([ColumnSpec("x", "numerical", "float64", bounds=(0, 1),
    ...                             bounds_source="public")])
    >>> plan = PrivatePlan.make(1.0, 1e-6, meta, 100, 0.3)
    >>> plan.discover, plan.sgd
    ([], (1.0, 1e-06))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from umbra.metadata.spec import Metadata
from umbra.privacy.accounting import check_budget, rho_for
from umbra.privacy.domain import conform, discover, needs_discovery
from umbra.synthesizers.base import Synthesizer


@dataclass
class PrivatePlan:
    """Columns to learn under DP, the budgets of that and of training."""

    epsilon: float
    delta: float
    discover: list[str] = field(default_factory=list)
    preprocessing: tuple[float, float] = (0.0, 0.0)  # (rho, threshold delta) for discover
    preprocessing_epsilon: float = 0.0
    sgd: tuple[float, float] = (0.0, 0.0)  # (epsilon, delta) for DP-SGD

    @classmethod
    def make(
        cls, epsilon: float, delta: float, meta: Metadata, n_rows: int, share: float
    ) -> PrivatePlan:
        """Check the budget against the table size and split it."""
        check_budget(epsilon, delta, n_rows)
        plan = cls(float(epsilon), float(delta), needs_discovery(meta))
        if not plan.discover:
            plan.sgd = (plan.epsilon, plan.delta)
            return plan
        names = {str(spec.name): spec for spec in meta}
        categorical = any(names[c].kind == "categorical" for c in plan.discover)
        threshold = delta / 3 if categorical else 0.0
        plan.preprocessing_epsilon = share * epsilon
        plan.preprocessing = (rho_for(plan.preprocessing_epsilon, delta / 3), threshold)
        plan.sgd = (epsilon - plan.preprocessing_epsilon, delta - delta / 3 - threshold)
        return plan

    def prepare(self, data: pd.DataFrame, meta: Metadata, rng: np.random.Generator) -> pd.DataFrame:
        """Learn the undeclared domain under DP (into ``meta``) and make the data fit it."""
        if self.discover:
            data = discover(data, meta, self.discover, self.preprocessing, rng)
        return conform(data, meta, rng)

    def spent(self, mechanism: str, sgd_epsilon: float, extra: dict[str, Any]) -> dict[str, Any]:
        """The ``privacy_spent_`` record of the fit."""
        return {
            "mechanism": mechanism,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "accountant": "Opacus RDP for DP-SGD; basic composition with the preprocessing",
            "sgd_epsilon": sgd_epsilon,
            "sgd_delta": self.sgd[1],
            "preprocessing_epsilon": self.preprocessing_epsilon,
            "preprocessing_delta": self.delta - self.sgd[1],
            "learned_under_dp": list(self.discover),
            **extra,
        }


class DPSGDHooks(Synthesizer):
    """The fit hooks of a model that trains with DP-SGD when its ``epsilon`` is set: a public
    grid of ``n_bins`` per number, the budget split checked against the table, and the domain
    learned under DP before encoding. Placed before the model's base class."""

    epsilon: float | None
    delta: float
    preprocessing_share: float
    n_bins: int
    _plan: PrivatePlan

    def _encoding(self) -> dict[str, Any]:
        if self.epsilon is not None:  # a public grid on the declared or DP-learned bounds
            return {"numeric": "bins", "n_bins": self.n_bins, "public": True}
        return super()._encoding()

    def _check_metadata(self, meta: Metadata, n_rows: int) -> None:
        if self.epsilon is None:
            super()._check_metadata(meta, n_rows)
            return
        share = float(self.preprocessing_share)
        self._plan = PrivatePlan.make(self.epsilon, self.delta, meta, n_rows, share)

    def _prepare(
        self, data: pd.DataFrame, meta: Metadata, rng: np.random.Generator
    ) -> pd.DataFrame:
        if self.epsilon is None:
            return super()._prepare(data, meta, rng)
        return self._plan.prepare(data, meta, rng)
