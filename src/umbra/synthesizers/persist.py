"""Versioned model files: a zip of JSON (manifest, metadata, state) and NumPy arrays, no pickle.

Example:
    >>> state, arrays = flatten({"w": np.arange(3.0), "k": [1, "a"]})
    >>> state
    {'w': {'__array__': 'a0'}, 'k': [1, 'a']}
    >>> unflatten(state, arrays)["w"].tolist()
    [0.0, 1.0, 2.0]
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from umbra import __version__
from umbra._files import atomic_write
from umbra.exceptions import IncompatibleVersionError, PersistenceError
from umbra.metadata.spec import Metadata
from umbra.synthesizers.base import Synthesizer

FORMAT = "umbra.model"
FORMAT_VERSION = 1


def flatten(
    obj: Any, arrays: dict[str, np.ndarray] | None = None
) -> tuple[Any, dict[str, np.ndarray]]:
    """Replace arrays in a nested structure by references; return (JSON-ready, arrays)."""
    arrays = {} if arrays is None else arrays
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return flatten(obj.tolist(), arrays)
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}, arrays
    if isinstance(obj, dict):
        return {str(k): flatten(v, arrays)[0] for k, v in obj.items()}, arrays
    if isinstance(obj, list | tuple):
        return [flatten(v, arrays)[0] for v in obj], arrays
    if isinstance(obj, np.generic):
        return obj.item(), arrays
    return obj, arrays


def unflatten(obj: Any, arrays: Any) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return np.asarray(arrays[obj["__array__"]])
        return {k: unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten(v, arrays) for v in obj]
    return obj


def _json(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except TypeError as exc:
        raise PersistenceError(f"cannot save the {what}: {exc}") from None


def save_synthesizer(synth: Synthesizer, path: Path, *, force: bool) -> Path:
    """Write ``synth`` to ``path`` atomically."""
    state = {
        "transformer": synth._transformer_state(),
        "model": synth._get_state(),
        "sample_rng": synth.sample_rng_.bit_generator.state,
        "n_training_rows": synth.n_training_rows_,
    }
    flat, arrays = flatten(state)
    params = {
        k: v if isinstance(v, int | float | str | bool | type(None)) else None
        for k, v in synth.get_params().items()
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "umbra_version": __version__,
        "model": synth.name,
        "params": params,
    }

    def writer(tmp: str) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", _json(manifest, "manifest"))
            archive.writestr("metadata.json", _json(synth.metadata_.to_dict(), "metadata"))
            archive.writestr("state.json", _json(flat, "model state"))
            archive.writestr("arrays.npz", buffer.getvalue())

    return atomic_write(path, writer, force=force)


def load(path: str | Path) -> Synthesizer:
    """Load a synthesizer saved with :meth:`Synthesizer.save`."""
    p = Path(path)
    if not p.is_file():
        raise PersistenceError(f"{p}: no such model file; create one with `umbra fit`.")
    try:
        with zipfile.ZipFile(p) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            _check_manifest(manifest, p)
            meta = Metadata.from_dict(json.loads(archive.read("metadata.json")), origin=str(p))
            flat = json.loads(archive.read("state.json"))
            with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as npz:
                state = unflatten(flat, {k: npz[k] for k in npz.files})
    except PersistenceError:
        raise
    except Exception as exc:  # zip, zlib, JSON and NumPy each raise their own types
        raise PersistenceError(
            f"{p}: damaged or not an Umbra model file ({type(exc).__name__}: {exc}). "
            "Save the model again with `umbra fit`."
        ) from None
    try:
        return _rebuild(manifest, meta, state)
    except Exception as exc:  # a file edited by hand can break any part of the state
        raise PersistenceError(
            f"{p}: the model state is inconsistent ({type(exc).__name__}: {exc}); the file was "
            "edited or damaged. Save the model again with `umbra fit`."
        ) from None


def _rebuild(manifest: dict[str, Any], meta: Metadata, state: dict[str, Any]) -> Synthesizer:
    from umbra.synthesizers.registry import create

    synth = create(manifest["model"], **manifest["params"])
    synth.metadata_ = meta
    synth.transformer_ = synth._load_transformer(meta, state["transformer"])
    synth._set_state(state["model"])
    synth.n_training_rows_ = state["n_training_rows"]
    synth.sample_rng_ = np.random.default_rng()
    synth.sample_rng_.bit_generator.state = state["sample_rng"]
    synth.sample(1, random_state=0)  # fails now, not later, when the state does not fit
    return synth


def _check_manifest(manifest: Any, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PersistenceError(f"{path}: not an Umbra model file (no format {FORMAT!r}).")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IncompatibleVersionError(
            f"{path}: written by umbra {manifest.get('umbra_version')} in model format "
            f"version {version}; this umbra {__version__} reads format version "
            f"{FORMAT_VERSION}. Refit the model with this version, or install umbra "
            f"{manifest.get('umbra_version')} to use it."
        )
