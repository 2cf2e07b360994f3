"""Recording: per-request columns and exact level monitors."""

from asyncflow.metrics.levels import Level
from asyncflow.metrics.requests import RequestLog

__all__ = ["Level", "RequestLog"]
