"""The privacy ledger: every spend on a source dataset, persisted, capped, composed soundly.

A ledger is a JSON-lines file. Each line is one spend (mechanism, epsilon, delta, zCDP rho when
the mechanism has one, time, model id) or one cap, keyed by the source's *fingerprint*: a hash
of the table's content that ignores row order, so a shuffled copy is the same source. A spend
is written *before* training, under an exclusive file lock held from the cap check to the
write, so two concurrent fits can neither lose an entry nor both slip under the cap; a fit that
fails afterwards keeps its entry (the data was touched).

Totals compose by basic composition (epsilons add, deltas add) and, when every entry carries
a zCDP rho, by adding the rhos and converting once with the deltas not spent outside zCDP
(``delta_extra``, e.g. category thresholds); both are valid guarantees, so the ledger reports
the smaller epsilon.

Example:
    >>> import pandas as pd, tempfile, os
    >>> df = pd.DataFrame({"x": [1, 2, 3]})
    >>> ledger = Ledger(os.path.join(tempfile.mkdtemp(), "ledger.jsonl"))
    >>> ledger.set_cap(df, epsilon=2.0) == fingerprint(df)
    True
    >>> _ = ledger.spend(df, "mst", epsilon=1.5, delta=1e-7, model_id="m1")
    >>> round(ledger.total(df).epsilon, 2)
    1.5
    >>> ledger.spend(df, "mst", epsilon=1.0, delta=1e-7, model_id="m2")
    Traceback (most recent call last):
    ...
    umbra.exceptions.BudgetExceededError: source ... has spent epsilon 1.5 of its cap 2; this fit asks for 1 more (total 2.5). Lower epsilon, or raise the cap with `umbra ledger SOURCE --cap EPSILON` if the data owner allows it.
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from umbra.exceptions import BudgetExceededError, InputError
from umbra.privacy.accounting import epsilon_for

ENV = "UMBRA_LEDGER"
FULL = re.compile("[0-9a-f]{24}")
SOURCE_ATTR = "umbra_source"  # DataFrame.attrs key: the fingerprint of the table it came from


def default_path() -> Path:
    """``$UMBRA_LEDGER``, else ``~/.umbra/ledger.jsonl``."""
    return Path(os.environ.get(ENV) or Path.home() / ".umbra" / "ledger.jsonl")


def fingerprint(data: pd.DataFrame) -> str:
    """A hash of the table's columns and rows that ignores row order (24 hex digits).

    Example:
        >>> df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        >>> fingerprint(df) == fingerprint(df.iloc[::-1])
        True
        >>> fingerprint(df) == fingerprint(df.assign(a=[1, 3]))
        False
    """
    rows = np.sort(pd.util.hash_pandas_object(data, index=False).to_numpy())
    digest = hashlib.sha256(json.dumps([str(c) for c in data.columns]).encode())
    digest.update(rows.tobytes())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class Total:
    """What a source has spent: the composed epsilon and delta, the number of spends, the cap."""

    epsilon: float
    delta: float
    spends: int
    cap: float | None


class Ledger:
    """One ledger file (created on the first spend).

    Args:
        path: the JSON-lines file; ``None`` means :func:`default_path`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        if self.path.exists() and self.path.is_dir():
            raise InputError(f"ledger path {self.path} is a folder; give a file path")

    def spend(
        self,
        source: pd.DataFrame | str,
        mechanism: str,
        *,
        epsilon: float,
        delta: float,
        rho: float | None = None,
        delta_extra: float = 0.0,
        model_id: str = "",
    ) -> dict[str, Any]:
        """Record a spend, or raise :class:`BudgetExceededError` if it would pass the cap.

        ``rho`` is the zCDP part of a mechanism whose guarantee is that rho converted with
        ``delta - delta_extra``, plus ``delta_extra`` (as in thresholded category discovery).
        """
        key = source if isinstance(source, str) else fingerprint(source)
        entry = {
            "source": key,
            "mechanism": mechanism,
            "epsilon": float(epsilon),
            "delta": float(delta),
            "rho": None if rho is None else float(rho),
            "delta_extra": float(delta_extra),
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model_id": model_id,
        }
        with self._locked() as handle:
            entries = [e for e in _read(handle) if e.get("source") == key]
            spent, cap = _compose(entries), _cap(entries)
            after = _compose([*entries, entry])
            if cap is not None and after.epsilon > cap + 1e-12:
                raise BudgetExceededError(
                    f"source {key} has spent epsilon {spent.epsilon:.3g} of its cap {cap:g}; "
                    f"this fit asks for {epsilon:g} more (total {after.epsilon:.3g}). Lower "
                    "epsilon, or raise the cap with `umbra ledger SOURCE --cap EPSILON` if the "
                    "data owner allows it."
                )
            _append(handle, entry)
        return entry

    def set_cap(self, source: pd.DataFrame | str, *, epsilon: float) -> str:
        """Cap the total epsilon of a source (the latest cap counts); a fingerprint may be
        abbreviated when exactly one recorded source starts with it."""
        number = isinstance(epsilon, int | float) and not isinstance(epsilon, bool)
        if not number or not 0 < epsilon < math.inf:
            raise InputError(f"a cap must be a finite epsilon > 0, received {epsilon!r}")
        key = source if isinstance(source, str) else fingerprint(source)
        with self._locked() as handle:
            if not FULL.fullmatch(key):
                known = sorted({e["source"] for e in _read(handle) if e["source"].startswith(key)})
                if len(known) != 1:
                    raise InputError(
                        f"source {key!r} is {'ambiguous' if known else 'unknown'}: give the data "
                        "file or a full 24-digit fingerprint as `umbra ledger` lists them"
                    )
                key = known[0]
            _append(handle, {"source": key, "cap": float(epsilon)})
        return key

    def entries(self, source: pd.DataFrame | str | None = None) -> list[dict[str, Any]]:
        """Every line (of one source, when given), oldest first."""
        if not self.path.exists():
            return []
        with self._locked(shared=True) as handle:
            lines = _read(handle)
        if source is None:
            return lines
        key = source if isinstance(source, str) else fingerprint(source)
        return [e for e in lines if e.get("source", "").startswith(key)]

    def total(self, source: pd.DataFrame | str) -> Total:
        """The composed spend of one source."""
        entries = self.entries(source)
        composed = _compose(entries)
        return Total(composed.epsilon, composed.delta, composed.spends, _cap(entries))

    def describe(self, source: str | None = None) -> list[str]:
        """Readable lines: every spend and the total, per source (of ``source``, when given)."""
        entries = self.entries(source)
        keys = sorted({e["source"] for e in entries})
        if not keys:
            return [f"No spends recorded{f' for {source}' if source else ''} in {self.path}"]
        lines = []
        for key in keys:
            total = self.total(key)
            lines += [
                f"  {e.get('time', '?')}  {e.get('mechanism', '?'):<8} epsilon {e['epsilon']:g}"
                f"  delta {e['delta']:.1g}  model {e.get('model_id', '')}"
                for e in entries
                if e["source"] == key and "epsilon" in e
            ]
            capped = "no cap" if total.cap is None else f"cap {total.cap:g}"
            lines.append(
                f"source {key}: {total.spends} spend(s), total epsilon {total.epsilon:.3g}, "
                f"delta {total.delta:.2g} ({capped})"
            )
        return lines

    @contextmanager
    def _locked(self, shared: bool = False) -> Iterator[Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _read(handle: Any) -> list[dict[str, Any]]:
    handle.flush()
    out: list[dict[str, Any]] = []
    for number, raw in enumerate(Path(handle.name).read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            entry = None
        problem = _damage(entry)
        if problem or not isinstance(entry, dict):
            raise InputError(
                f"ledger {handle.name} line {number} is damaged ({problem}); the ledger was "
                "edited or corrupted. Restore it from a backup; Umbra will not guess its spends."
            )
        out.append(entry)
    return out


def _damage(entry: Any) -> str | None:
    """What is wrong with one ledger line (None when it is a sound spend or cap)."""
    if not isinstance(entry, dict):
        return "not a JSON object"
    if not isinstance(entry.get("source"), str):
        return "no source"
    numbers = {"cap": (0.0, False)} if "cap" in entry else {"epsilon": (0.0, True)}
    if "cap" not in entry:
        numbers |= {"delta": (0.0, True), "rho": (0.0, True), "delta_extra": (0.0, True)}
    for key, (low, inclusive) in numbers.items():
        value = entry.get(key, 0.0 if key in ("rho", "delta_extra") else None)
        if key == "rho" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return f"{key} is not a number"
        if value < low or (value == low and not inclusive) or math.isinf(value):
            return f"{key} {value} is out of range"
    if "cap" not in entry and not (0 <= entry["delta"] < 1):
        return f"delta {entry['delta']} is out of range"
    return None


def _append(handle: Any, entry: dict[str, Any]) -> None:
    handle.seek(0, os.SEEK_END)
    handle.write(json.dumps(entry) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _cap(entries: list[dict[str, Any]]) -> float | None:
    caps = [float(e["cap"]) for e in entries if "cap" in e]
    return caps[-1] if caps else None


def _compose(entries: list[dict[str, Any]]) -> Total:
    """Basic composition, or zCDP composition when every spend has a rho (the smaller)."""
    spends = [e for e in entries if "epsilon" in e]
    epsilon = sum(float(e["epsilon"]) for e in spends)
    delta = sum(float(e["delta"]) for e in spends)
    converted = delta - sum(float(e.get("delta_extra", 0.0)) for e in spends)
    if spends and all(e.get("rho") is not None for e in spends) and 0 < converted < 1:
        epsilon = min(epsilon, epsilon_for(sum(float(e["rho"]) for e in spends), converted))
    return Total(epsilon, delta, len(spends), None)
