"""The :class:`Synthesizer` base class: validation, encoding, seeding, decoding, persistence.

A model implements only ``_fit(encoded, blocks, rng)``, ``_sample(n, rng)`` and its state.

Example:
    >>> import pandas as pd, umbra
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> synth = umbra.create("copula", random_state=0).fit(df, metadata=umbra.Metadata.detect(df, warn=False))
    >>> synth.sample(3).shape
    (3, 2)
"""  # noqa: E501

from __future__ import annotations

import copy
import inspect
import numbers
import os
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from umbra._random import RandomState, make_rng, spawn
from umbra.exceptions import InputError, NotFittedError, PrivacyLeakWarning
from umbra.metadata.detect import check_frame
from umbra.metadata.spec import Metadata
from umbra.privacy.ledger import SOURCE_ATTR, Ledger
from umbra.transforms.base import Block
from umbra.transforms.table import TableTransformer

MIN_ROWS = 2
FEW_ROWS = 50


class Synthesizer(ABC):
    """Base of every model. ``__init__`` stores keyword-only hyperparameters and nothing else."""

    name: ClassVar[str] = ""
    data_kind: ClassVar[str] = "table"
    numeric_encoding: ClassVar[str] = "raw"

    def __init__(self, *, random_state: RandomState = None) -> None:
        self.random_state = random_state

    @classmethod
    def param_names(cls) -> list[str]:
        """The keyword-only hyperparameters of this model."""
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self.param_names()}

    def fit(
        self,
        data: pd.DataFrame,
        metadata: Metadata | None = None,
        *,
        ledger: Ledger | bool | None = None,
        source: pd.DataFrame | str | None = None,
    ) -> Self:
        """Learn the table; ``metadata`` defaults to :meth:`Metadata.detect`. Returns ``self``.

        A differentially private fit books its spend before training (and is refused past the
        cap) in ``ledger`` (default: the ledger at ``$UMBRA_LEDGER`` or ``~/.umbra``;
        ``False``: none) against ``source``: the dataset ``data`` was drawn from, or its
        fingerprint. The default is the table :func:`~umbra.split_holdout` split ``data``
        from, else ``data`` itself.
        """
        self._check_params()
        check_frame(data)
        if len(data) < MIN_ROWS:
            raise InputError(
                f"the table has {len(data)} row(s); a synthesizer needs at least {MIN_ROWS} "
                "to learn a distribution (with one row it could only copy it)."
            )
        meta = checked_metadata(data, metadata)
        self._check_metadata(meta, len(data))
        if ledger is not False and getattr(self, "epsilon", None) is not None:
            book = Ledger() if ledger is None or ledger is True else ledger
            self._record_spend(
                book, data.attrs.get(SOURCE_ATTR, data) if source is None else source
            )
        if len(data) < FEW_ROWS and getattr(self, "epsilon", None) is None:
            warnings.warn(
                f"the table has only {len(data)} rows: synthetic rows will often repeat real "
                "ones. Check the exact-copy share before sharing the output.",
                PrivacyLeakWarning,
                stacklevel=2,
            )
        rng = make_rng(self.random_state)
        data = self._prepare(data, meta, rng)
        transformer = TableTransformer(meta, **self._encoding(), random_state=spawn(rng)).fit(data)
        _warn_learned(meta.learned_from_data() + transformer.learned_)
        encoded = transformer.transform(data).to_numpy()
        self._fit(encoded, transformer.blocks, rng)
        self.metadata_ = meta
        self.transformer_ = transformer
        self.n_training_rows_ = len(data)
        self.sample_rng_ = spawn(rng)
        self._after_fit()
        return self

    def _check_params(self) -> None:
        """Raise :class:`InputError` naming a bad hyperparameter (before any work on the data)."""
        return None

    def _check_metadata(self, meta: Metadata, n_rows: int) -> None:
        """Raise :class:`InputError` when the model cannot train on this schema."""
        return None

    def _record_spend(self, ledger: Ledger, data: pd.DataFrame | str) -> None:
        """Write this fit's privacy spend to ``ledger`` (models without DP spend nothing)."""
        epsilon = getattr(self, "epsilon", None)
        if epsilon is None:
            return
        self.model_id_ = uuid.uuid4().hex[:12]
        plan = self._privacy_plan()
        ledger.spend(
            data, self.name, epsilon=epsilon, delta=float(getattr(self, "delta", 0.0)),
            rho=plan.get("rho"), delta_extra=plan.get("delta_extra", 0.0),
            model_id=self.model_id_,
        )  # fmt: skip

    def _privacy_plan(self) -> dict[str, float]:
        """The zCDP ``rho`` this fit spends and the ``delta_extra`` spent outside it."""
        return {}

    def _prepare(
        self, data: pd.DataFrame, meta: Metadata, rng: np.random.Generator
    ) -> pd.DataFrame:
        """The table the encoding is fitted on; DP models learn their domain here."""
        return data

    def _encoding(self) -> dict[str, Any]:
        """Options of the :class:`TableTransformer` this model trains on."""
        return {"numeric": self.numeric_encoding}

    def _after_fit(self) -> None:
        """A hook run once the fitted state is complete (for warnings about the model)."""
        return None

    def sample(
        self,
        n: int,
        *,
        conditions: Mapping[str, Any] | None = None,
        random_state: RandomState = None,
    ) -> pd.DataFrame:
        """Draw ``n`` synthetic rows with the training table's columns, order and dtypes.

        ``conditions`` maps columns to a value (``{"sex": "Female"}``) or, for numbers and dates,
        an inclusive range ``(low, high)``; exactly ``n`` rows satisfying all of them come back,
        or a :class:`~umbra.exceptions.ConditionError` names the condition without support.
        Successive calls continue one random stream seeded by ``random_state`` at fit; pass
        ``random_state`` here for a draw that depends on that seed alone.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise InputError(f"n must be a non-negative integer number of rows, received {n!r}")
        rng = self.sample_rng_ if random_state is None else make_rng(random_state)
        if conditions:
            from umbra.synthesizers.conditions import parse_conditions, sample_conditioned

            return sample_conditioned(self, int(n), parse_conditions(self, conditions), rng)
        encoded = self._sample(int(n), rng)
        return self.transformer_.inverse_transform(encoded, random_state=spawn(rng))

    def _check_fitted(self) -> None:
        if not hasattr(self, "transformer_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) first."
            )

    @abstractmethod
    def _fit(self, encoded: np.ndarray, blocks: list[Block], rng: np.random.Generator) -> None:
        """Learn from the encoded table (floats; discrete blocks hold integer codes)."""

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``n`` encoded rows."""

    def _sample_fixed(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        """``n`` encoded rows favouring the ``fixed`` codes of discrete blocks (block -> code).

        The default ignores them: conditions are then met by rejection alone.
        """
        return self._sample(n, rng)

    def _transformer_state(self) -> dict[str, Any]:
        """What :func:`~umbra.synthesizers.persist.load` needs to rebuild ``transformer_``."""
        return self.transformer_.state()

    @classmethod
    def _load_transformer(cls, meta: Metadata, state: dict[str, Any]) -> TableTransformer:
        """Rebuild ``transformer_`` from :meth:`_transformer_state`."""
        return TableTransformer.from_state(meta, state)

    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """The model's learned state: JSON values and NumPy arrays."""

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned."""

    def save(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Save to a versioned ``.umbra`` file (JSON plus arrays, no pickle)."""
        from umbra.synthesizers.persist import save_synthesizer

        self._check_fitted()
        return save_synthesizer(self, Path(path), force=force)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def checked_metadata(data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
    """A copy of ``metadata`` (detected when None) checked against ``data``, in its order."""
    meta = copy.deepcopy(metadata) if metadata is not None else Metadata.detect(data, warn=False)
    if not isinstance(meta, Metadata):
        raise InputError(f"metadata must be a umbra.Metadata, received {type(meta).__name__}")
    meta.validate(data)
    meta.columns.sort(key=lambda spec: list(data.columns).index(spec.name))
    return meta


def _warn_learned(items: list[str]) -> None:
    unique = list(dict.fromkeys(items))
    if not unique:
        return
    shown = ", ".join(unique[:6]) + (f" and {len(unique) - 6} more" if len(unique) > 6 else "")
    warnings.warn(
        f"{shown} were learned from the data without a privacy guarantee: they reveal real "
        "extremes and rare values. Declare public ones with metadata.update(column, bounds=..., "
        "categories=...).",
        PrivacyLeakWarning,
        stacklevel=3,
    )
