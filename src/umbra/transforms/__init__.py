"""Reversible per-column encoders and the :class:`TableTransformer` that combines them."""

from umbra.transforms.base import Block, Encoder
from umbra.transforms.table import TableTransformer

__all__ = ["Block", "Encoder", "TableTransformer"]
