"""Matplotlib figures rendered as inline SVG strings (no pyplot state, no files).

Example:
    >>> svg = bars(["a", "b"], [0.6, 0.4], [0.5, 0.5], "colour")
    >>> svg.startswith("<svg") and "</svg>" in svg
    True
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

REAL, SYNTH = "#1f5f8b", "#e07b39"


def _svg(fig: Any) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "umbra"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)  # drops the date
    return text[text.index("<svg") :]


def _figure(width: float = 4.2, height: float = 2.6) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def histogram(edges: Sequence[float], real: Sequence[int], fake: Sequence[int], title: str) -> str:
    """Overlaid real and synthetic histograms (as shares of rows)."""
    fig, ax = _figure()
    edges_ = np.asarray(edges)
    for counts, label in ((real, "real"), (fake, "synthetic")):
        share = np.asarray(counts, dtype=float) / max(float(np.sum(counts)), 1.0)
        if label == "real":
            ax.stairs(share, edges_, color=REAL, label=label, fill=True, alpha=0.4)
        else:
            ax.stairs(share, edges_, color=SYNTH, label=label, linewidth=1.8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def bars(
    categories: Sequence[str], real: Sequence[float], fake: Sequence[float], title: str
) -> str:
    """Side-by-side category shares (the 20 most frequent real categories)."""
    fig, ax = _figure(4.2, 2.6 + 0.05 * len(categories))
    y = np.arange(len(categories))
    ax.barh(y - 0.2, real, height=0.4, color=REAL, label="real")
    ax.barh(y + 0.2, fake, height=0.4, color=SYNTH, label="synthetic")
    ax.set_yticks(y, [_short(c) for c in categories], fontsize=6)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(axis="x", labelsize=7)
    return _svg(fig)


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def heatmap(matrix: Any, names: Sequence[str], title: str, diverging: bool = False) -> str:
    """A labelled matrix; ``diverging`` for signed differences."""
    values = np.asarray(matrix, dtype=float)
    size = 2.5 + 0.28 * len(names)
    fig, ax = _figure(size, size * 0.85)
    cmap, low = ("RdBu_r", -1.0) if diverging else ("viridis", min(0.0, float(np.nanmin(values))))
    image = ax.imshow(values, cmap=cmap, vmin=low, vmax=1.0)
    ax.set_xticks(range(len(names)), [_short(n, 14) for n in names], rotation=90, fontsize=6)
    ax.set_yticks(range(len(names)), [_short(n, 14) for n in names], fontsize=6)
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.7).ax.tick_params(labelsize=6)
    return _svg(fig)


def distances(to_train: Sequence[float], to_holdout: Sequence[float]) -> str:
    """Distance from synthetic rows to their closest training and holdout rows."""
    fig, ax = _figure(5.0, 2.8)
    both = np.concatenate([to_train, to_holdout])
    edges = np.histogram_bin_edges(both, bins=40) if len(both) else np.linspace(0, 1, 2)
    ax.hist(to_train, edges, color=REAL, alpha=0.5, label="to closest training row")
    ax.hist(to_holdout, edges, color=SYNTH, alpha=0.5, label="to closest holdout row")
    ax.set_xlabel("distance", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=7)
    return _svg(fig)


def losses(history: dict[str, Sequence[float]]) -> str:
    """Training loss curves per epoch; the held-out fidelity signal on its own axis."""
    fig, ax = _figure(5.0, 2.8)
    epochs = history.get("epoch") or list(range(len(next(iter(history.values()), []))))
    for name, values in history.items():
        if name not in ("epoch", "seconds", "fidelity"):
            ax.plot(epochs, values, label=name, linewidth=1)
    ax.set_xlabel("epoch", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.tick_params(labelsize=7)
    if "fidelity" in history:
        right = ax.twinx()
        right.plot(epochs, history["fidelity"], color="black", linestyle=":", label="fidelity")
        right.set_ylabel("held-out fidelity", fontsize=8)
        right.tick_params(labelsize=7)
        right.legend(fontsize=7, frameon=False, loc="upper right")
    return _svg(fig)
