"""Capacity planning from what Prometheus and the load tests measured (issue 9).

``python -m capacity --prometheus URL --window 7d`` reports utilisation, the request-rate trend,
capacity per instance and per worker, headroom, the date the trend reaches 80 % of capacity, a
scale-out / scale-up / nothing recommendation, and the YouTube quota. The arithmetic is pure
(`capacity._model`); `capacity._prom` is the Prometheus HTTP API client.
"""

from ._model import (
    Capacity,
    Efficiency,
    Fit,
    Quota,
    Recommendation,
    Stats,
    best_fit,
    capacity_from_summary,
    efficiency,
    fit_exponential,
    fit_linear,
    quota,
    recommend,
    replicas_needed,
    utilisation,
)
from ._prom import CapacityError, Prometheus, Series

__all__ = [
    "Capacity",
    "CapacityError",
    "Efficiency",
    "Fit",
    "Prometheus",
    "Quota",
    "Recommendation",
    "Series",
    "Stats",
    "best_fit",
    "capacity_from_summary",
    "efficiency",
    "fit_exponential",
    "fit_linear",
    "quota",
    "recommend",
    "replicas_needed",
    "utilisation",
]
