"""The one error and warning tree of Umbra.

Every error Umbra raises on purpose derives from :class:`UmbraError`; every warning from
:class:`UmbraWarning`. Messages name the file, column or parameter, what was expected, what was
received, and the fix.

Example:
    >>> from umbra.exceptions import InputError, UmbraError
    >>> issubclass(InputError, UmbraError) and issubclass(InputError, ValueError)
    True
"""

from __future__ import annotations

from collections.abc import Sequence


class UmbraError(Exception):
    """Base class of every error Umbra raises on purpose."""


class InputError(UmbraError, ValueError):
    """A file, table or parameter given to Umbra cannot be used as it is."""


class MetadataError(UmbraError, ValueError):
    """Metadata is inconsistent, or does not fit the table; gathers every problem found.

    Example:
        >>> err = MetadataError(["column 'a': bounds (5, 1) have low > high"])
        >>> err.problems
        ["column 'a': bounds (5, 1) have low > high"]
    """

    def __init__(self, problems: Sequence[str], header: str = "metadata problems") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} {header}:\n{lines}")


class NotFittedError(UmbraError, RuntimeError):
    """A synthesizer or transformer was used before ``fit``."""


class OutputExistsError(UmbraError, FileExistsError):
    """An output file exists already and overwriting was not asked for."""


class PersistenceError(UmbraError, ValueError):
    """A saved model or metadata file cannot be read."""


class IncompatibleVersionError(PersistenceError):
    """A saved file was written in a format version this Umbra cannot read."""


class ConditionError(UmbraError, ValueError):
    """Conditions for sampling name an unknown column or a value the model cannot produce."""


class BudgetExceededError(UmbraError):
    """A fit would spend more privacy budget on a source than its cap in the ledger allows."""


class ReleaseRefused(UmbraError):  # noqa: N818 (the name the design uses)
    """The release gate refused to write a synthetic table that failed privacy checks."""

    def __init__(self, failures: Sequence[str], report: str | None = None) -> None:
        self.failures = list(failures)
        where = f" The report is at {report}." if report else ""
        lines = "\n".join(f"  - {f}" for f in self.failures)
        super().__init__(
            f"release refused: {len(self.failures)} privacy check(s) failed, so the synthetic "
            f"table was not written:\n{lines}\n{where.strip()} Pass --allow-risky "
            "(allow_risky=True) to write it anyway, stamped as risky."
        )


class UmbraWarning(UserWarning):
    """Base class of every warning Umbra emits."""


class PrivacyLeakWarning(UmbraWarning):
    """Something learned from the private data reaches the output without a privacy guarantee."""


class DataWarning(UmbraWarning):
    """The data was usable but something in it was handled in a way the user should know."""


class TrainingWarning(UmbraWarning):
    """Training diverged, stopped early for a reason to know, or lost a category."""


__all__ = [
    "BudgetExceededError",
    "ConditionError",
    "DataWarning",
    "IncompatibleVersionError",
    "InputError",
    "MetadataError",
    "NotFittedError",
    "OutputExistsError",
    "PersistenceError",
    "PrivacyLeakWarning",
    "ReleaseRefused",
    "TrainingWarning",
    "UmbraError",
    "UmbraWarning",
]
