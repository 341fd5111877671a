"""The deliberate public surface."""

from __future__ import annotations

import umbra


def test_all_is_sorted_and_importable() -> None:
    assert umbra.__all__ == sorted(umbra.__all__)
    for name in umbra.__all__:
        assert hasattr(umbra, name), name


def test_public_names() -> None:
    expected = {
        "BudgetExceededError", "ColumnSpec", "ConditionError", "DataWarning", "Evaluation",
        "IncompatibleVersionError", "InputError", "Ledger", "Metadata", "MetadataError", "Metric",
        "NotFittedError",
        "OutputExistsError", "PersistenceError", "PrivacyLeakWarning", "ReleaseRefused",
        "Summary", "Synthesizer", "TableTransformer", "TrainingWarning", "UmbraError",
        "UmbraWarning", "__version__", "available", "create", "datasets", "evaluate", "load",
        "read", "register", "split_holdout", "summarize", "write",
    }  # fmt: skip
    assert set(umbra.__all__) == expected


def test_one_exception_tree() -> None:
    for name in ("InputError", "MetadataError", "NotFittedError", "OutputExistsError",
                 "PersistenceError", "IncompatibleVersionError", "ConditionError"):  # fmt: skip
        assert issubclass(getattr(umbra, name), umbra.UmbraError)
    assert issubclass(umbra.PrivacyLeakWarning, umbra.UmbraWarning)
    assert issubclass(umbra.TrainingWarning, umbra.UmbraWarning)
