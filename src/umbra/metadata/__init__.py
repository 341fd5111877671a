"""Column kinds, bounds and categories with their provenance, detected and saved as JSON."""

from umbra.metadata.spec import ColumnSpec, Metadata

__all__ = ["ColumnSpec", "Metadata"]
