"""The :class:`TableTransformer`: one reversible encoder per column, chosen from the metadata.

Example:
    >>> import pandas as pd
    >>> age = pd.array([30, None, 41], dtype="Int64")
    >>> df = pd.DataFrame({"age": age, "ok": [True, False, True]})
    >>> from umbra.metadata import Metadata
    >>> tt = TableTransformer(Metadata.detect(df, warn=False)).fit(df)
    >>> back = tt.inverse_transform(tt.transform(df))
    >>> back.equals(df)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from umbra._random import RandomState, make_rng
from umbra.exceptions import InputError, NotFittedError
from umbra.metadata.detect import check_frame
from umbra.metadata.spec import Metadata
from umbra.transforms.base import Block, Encoder
from umbra.transforms.categorical import BooleanEncoder, CategoricalEncoder
from umbra.transforms.fakes import IdEncoder, PiiEncoder
from umbra.transforms.numeric import METHODS, DatetimeEncoder, NumericalEncoder


class TableTransformer:
    """Encode a table into float blocks and decode blocks back into the table.

    Args:
        metadata: the column specs.
        numeric: ``"raw"``, ``"bgm"`` (mode-specific normalisation) or ``"bins"``
            (discretisation onto the bounds) for numerical and datetime columns.
        n_bins: bins per number for ``numeric="bins"``.
        integer_values: whole numbers spanning at most this many values get one code per
            value (default ``n_bins``).
        public: the blocks follow the metadata alone (which nulls and infinities exist), as a
            differentially private model needs; the data must fit it (see
            :func:`umbra.privacy.domain.conform`).
        random_state: seed for the random parts of encoding (fills, mode draws, in-bin values).
    """

    def __init__(
        self,
        metadata: Metadata,
        *,
        numeric: str = "raw",
        n_bins: int = 32,
        integer_values: int | None = None,
        public: bool = False,
        random_state: RandomState = 0,
    ) -> None:
        if numeric not in METHODS:
            raise InputError(f"numeric must be one of {METHODS}, received {numeric!r}")
        self.metadata = metadata
        self.numeric = numeric
        self.n_bins = n_bins
        self.integer_values = integer_values
        self.public = public
        self.random_state = random_state

    def _make(self, index: int) -> Encoder:
        spec = self.metadata.columns[index]
        prefix = f"c{index}"
        if spec.kind in ("numerical", "datetime"):
            cls = NumericalEncoder if spec.kind == "numerical" else DatetimeEncoder
            return cls(spec, prefix, self.numeric, self.n_bins, self.integer_values)
        simple: dict[str, type[Encoder]] = {
            "categorical": CategoricalEncoder,
            "boolean": BooleanEncoder,
            "id": IdEncoder,
            "pii": PiiEncoder,
        }
        return simple[spec.kind](spec, prefix)

    def fit(self, data: pd.DataFrame) -> TableTransformer:
        """Fit one encoder per column; ``learned_`` lists what was learned from the data."""
        check_frame(data)
        self.metadata.validate(data)
        rng = make_rng(self.random_state)
        self.encoders_ = [self._make(i) for i in range(len(self.metadata))]
        for encoder in self.encoders_:
            if self.public:
                encoder.public = True
            encoder.fit(data[encoder.spec.name], rng)
        self.learned_ = [item for enc in self.encoders_ for item in enc.learned]
        return self

    @property
    def blocks(self) -> list[Block]:
        """All encoded blocks, column by column."""
        return [block for enc in self._fitted() for block in enc.blocks()]

    def _fitted(self) -> list[Encoder]:
        if not hasattr(self, "encoders_"):
            raise NotFittedError("this TableTransformer is not fitted yet; call fit(data) first.")
        return self.encoders_

    def transform(self, data: pd.DataFrame, random_state: RandomState = None) -> pd.DataFrame:
        """Encode ``data``: one float column per block, named after the block."""
        encoders = self._fitted()
        self.metadata.validate(data)
        rng = make_rng(self.random_state if random_state is None else random_state)
        parts = [enc.transform(data[enc.spec.name], rng) for enc in encoders]
        array = np.hstack(parts) if parts else np.empty((len(data), 0))
        return pd.DataFrame(array, columns=[b.name for b in self.blocks])

    def inverse_transform(self, encoded: Any, random_state: RandomState = None) -> pd.DataFrame:
        """Decode blocks (a DataFrame or array shaped like :meth:`transform`'s output)."""
        encoders = self._fitted()
        array = np.asarray(encoded, dtype=float)
        width = len(self.blocks)
        if array.ndim != 2 or array.shape[1] != width:
            raise InputError(f"expected an array of shape (n, {width}), received {array.shape}")
        rng = make_rng(self.random_state if random_state is None else random_state)
        columns, start = {}, 0
        for enc in encoders:
            stop = start + len(enc.blocks())
            series = enc.inverse(array[:, start:stop], rng)
            columns[enc.spec.name] = series.reset_index(drop=True)
            start = stop
        out = pd.DataFrame(columns)
        out.columns = pd.Index(self.metadata.names, dtype=object)
        return out

    def state(self) -> dict[str, Any]:
        """Learned state for persistence."""
        encoders = self._fitted()
        return {
            "numeric": self.numeric,
            "n_bins": self.n_bins,
            "integer_values": self.integer_values,
            "encoders": [{"type": e.kind_name, "state": e.state()} for e in encoders],
        }

    @classmethod
    def from_state(cls, metadata: Metadata, state: dict[str, Any]) -> TableTransformer:
        """Rebuild a fitted transformer from :meth:`state`."""
        out = cls(
            metadata,
            numeric=state["numeric"],
            n_bins=state["n_bins"],
            integer_values=state.get("integer_values"),
        )
        out.encoders_ = [
            Encoder.registry[item["type"]].from_state(spec, item["state"])
            for spec, item in zip(metadata.columns, state["encoders"], strict=True)
        ]
        out.learned_ = []
        return out
