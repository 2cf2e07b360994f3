"""Simulation engine: the event kernel and random streams."""

from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams

__all__ = ["Kernel", "RandomStreams"]
