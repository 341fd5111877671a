"""Identifiers and personal data: never learned, regenerated on decode.

Identifiers become fresh values of the same shape; emails, phone numbers, names and free text
become Faker values. Only the null share is modelled (as a status block).

Example:
    >>> import pandas as pd
    >>> from umbra.metadata.spec import ColumnSpec
    >>> spec = ColumnSpec("id", "id", "object", id_pattern="AA-dd")
    >>> enc = IdEncoder(spec, "c0").fit(pd.Series(["XY-01"]), np.random.default_rng(0))
    >>> out = enc.inverse(np.empty((3, 0)), np.random.default_rng(0))
    >>> bool(out.str.fullmatch(r"[A-Z]{2}-\\d{2}").all())
    True
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from umbra.metadata.spec import ColumnSpec
from umbra.transforms.base import Block, Encoder, restore_dtype

CLASSES = {"d": string.digits, "a": string.ascii_lowercase, "A": string.ascii_uppercase}
POOL = 5_000


class _NullModelled(Encoder):
    """Shared part: a status block (0 present, 1 missing) when the column has nulls."""

    def __init__(self, spec: ColumnSpec, prefix: str) -> None:
        super().__init__(spec, prefix)
        self.has_null = False

    def fit(self, series: pd.Series, rng: np.random.Generator) -> _NullModelled:
        self.has_null = bool(series.isna().any())
        return self

    def blocks(self) -> list[Block]:
        return [Block(f"{self.prefix}.status", "discrete", 2)] if self.has_null else []

    def transform(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        if not self.has_null:
            return np.empty((len(series), 0))
        return series.isna().to_numpy().astype(float).reshape(-1, 1)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        values = pd.Series(self.generate(encoded.shape[0], rng), dtype=object)
        if self.has_null:
            values[encoded[:, 0].astype(int) == 1] = None
        return restore_dtype(values, self.spec.dtype)

    def generate(self, n: int, rng: np.random.Generator) -> list[object]:
        """``n`` fresh values."""
        raise NotImplementedError


class IdEncoder(_NullModelled):
    """Fresh identifiers: 1..n for integer ids, random unique strings of the same shape else."""

    kind_name = "id"

    def generate(self, n: int, rng: np.random.Generator) -> list[object]:
        pattern = self.spec.id_pattern or "integer"
        if pattern == "integer":
            return list(range(1, n + 1))
        seen: set[str] = set()
        out: list[object] = []
        while len(out) < n:
            for value in _from_pattern(pattern, n - len(out), rng):
                if value not in seen:
                    seen.add(value)
                    out.append(value)
            if len(seen) >= _capacity(pattern):
                pattern += "d"
        return out


def _from_pattern(pattern: str, n: int, rng: np.random.Generator) -> list[str]:
    columns = []
    for char in pattern:
        alphabet = CLASSES.get(char)
        if alphabet is None:
            columns.append(np.full(n, char))
        else:
            columns.append(np.array(list(alphabet))[rng.integers(0, len(alphabet), n)])
    return ["".join(parts) for parts in zip(*columns, strict=True)] if columns else [""] * n


def _capacity(pattern: str) -> float:
    return float(np.prod([len(CLASSES.get(c, "x")) for c in pattern], dtype=float))


class PiiEncoder(_NullModelled):
    """Faker values of the detected type (email, phone, name, text); nothing is learned."""

    kind_name = "pii"

    def generate(self, n: int, rng: np.random.Generator) -> list[object]:
        from faker import Faker

        fake = Faker()
        fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
        make = {
            "email": fake.email,
            "phone": fake.phone_number,
            "name": fake.name,
            "text": fake.sentence,
        }[self.spec.pii_type or "text"]
        pool = np.array([make() for _ in range(min(n, POOL))], dtype=object)
        return pool[rng.integers(0, len(pool), n)].tolist() if n else []
