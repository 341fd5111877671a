"""Reading and writing tables: CSV (optionally gzipped) and Parquet, chosen by extension."""

from umbra.io.tables import read, write

__all__ = ["read", "write"]
