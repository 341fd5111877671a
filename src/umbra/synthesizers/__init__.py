"""Synthesizers: the base class, the registry and the models registered in it."""

from umbra.synthesizers import copula as _copula  # noqa: F401  (registers the model)
from umbra.synthesizers.base import Synthesizer
from umbra.synthesizers.persist import load
from umbra.synthesizers.registry import available, create, register

__all__ = ["Synthesizer", "available", "create", "load", "register"]
