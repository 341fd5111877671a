"""Umbra: privacy-preserving synthetic data for tables and event logs.

Example:
    >>> import umbra
    >>> real = umbra.datasets.load_demo()
    >>> meta = umbra.Metadata.detect(real, warn=False)
    >>> synth = umbra.create("copula", random_state=0).fit(real, metadata=meta)
    >>> fake = synth.sample(100)
    >>> list(fake.columns) == list(real.columns)
    True
"""

__version__ = "0.1.0"

from umbra import datasets
from umbra.evaluation import Evaluation, Metric, Summary, evaluate, summarize
from umbra.exceptions import (
    BudgetExceededError,
    ConditionError,
    DataWarning,
    IncompatibleVersionError,
    InputError,
    MetadataError,
    NotFittedError,
    OutputExistsError,
    PersistenceError,
    PrivacyLeakWarning,
    ReleaseRefused,
    TrainingWarning,
    UmbraError,
    UmbraWarning,
)
from umbra.io import read, write
from umbra.metadata import ColumnSpec, Metadata
from umbra.privacy.ledger import Ledger
from umbra.release import split_holdout
from umbra.synthesizers import Synthesizer, available, create, load, register
from umbra.transforms import TableTransformer

__all__ = [
    "BudgetExceededError",
    "ColumnSpec",
    "ConditionError",
    "DataWarning",
    "Evaluation",
    "IncompatibleVersionError",
    "InputError",
    "Ledger",
    "Metadata",
    "MetadataError",
    "Metric",
    "NotFittedError",
    "OutputExistsError",
    "PersistenceError",
    "PrivacyLeakWarning",
    "ReleaseRefused",
    "Summary",
    "Synthesizer",
    "TableTransformer",
    "TrainingWarning",
    "UmbraError",
    "UmbraWarning",
    "__version__",
    "available",
    "create",
    "datasets",
    "evaluate",
    "load",
    "read",
    "register",
    "split_holdout",
    "summarize",
    "write",
]
