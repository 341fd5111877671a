"""Real public tables shipped inside Umbra's dependencies, for the demo and the tests.

Example:
    >>> df = load_demo()
    >>> df.shape
    (686, 10)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from umbra.exceptions import InputError
from umbra.metadata.spec import Metadata

DEMO_DESCRIPTION = (
    "German Breast Cancer Study Group 2 trial (GBSG2): 686 patients with hormone therapy, age, "
    "menopausal status, tumour size and grade, positive nodes, receptor levels, and "
    "recurrence-free survival time with its censoring indicator. Shipped with lifelines "
    "(MIT); source: Schumacher et al. (1994), J. Clin. Oncol. 12(10):2086-2093."
)


def demo_path() -> Path:
    """Path of the GBSG2 CSV inside the installed lifelines package (not imported)."""
    spec = importlib.util.find_spec("lifelines")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "the demo table ships with the 'lifelines' package, which is not installed; "
            "run `pip install lifelines` (make demo installs it)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "gbsg2.csv"
    if not path.is_file():
        raise InputError(f"{path}: the demo table is missing from this lifelines installation.")
    return path


def load_demo() -> pd.DataFrame:
    """The GBSG2 breast-cancer trial table: 686 patients, 10 mixed-type columns."""
    return pd.read_csv(demo_path())


def demo_metadata() -> Metadata:
    """Metadata for the demo table, with what is public knowledge declared as such.

    The trial's protocol makes the category sets public (therapy yes/no, menopausal status,
    tumour grades I-III, the censoring indicator 0/1) and bounds the ages to 18-100; the rest
    is learned from the data and reported as such.

    Example:
        >>> demo_metadata()["cens"].kind
        'categorical'
    """
    meta = Metadata.detect(load_demo(), warn=False)
    meta.update("horTh", categories=["no", "yes"])
    meta.update("menostat", categories=["Post", "Pre"])
    meta.update("tgrade", categories=["I", "II", "III"])
    meta.update("age", bounds=(18, 100))
    meta.update("cens", kind="categorical", categories=[0, 1], bounds=None, bounds_source=None)
    return meta
