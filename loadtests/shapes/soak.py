"""The soak shape: a steady, moderate load for hours, to surface leaks, drift and slow exhaustion."""

from __future__ import annotations

from loadtests.shapes._base import Param, Stage, StagesShape, parse_stages

__all__ = ["SoakShape"]


class SoakShape(StagesShape):
    """Ramp up gently and hold the same users for a long time; the test ends after the last row.

    Use it for what only time shows: memory that grows, caches that churn, connections or file
    descriptors that leak, latency that creeps up. The per-window gates (``--window-seconds``) and the
    chart show the drift; compare the first and the last hour. The ramp is part of the first row (Locust
    starts ``spawn_rate`` users a second until it reaches the row's users). There is no ramp-down row: a
    row of 0 users would only close windows without requests, which fail every gate.

    Parameters (class attributes; option, environment variable):
        stages: the stage table, rows ``DURATION:USERS:SPAWN_RATE`` (``--soak-stages``,
            ``Y2S_SOAK_STAGES``), e.g. ``--soak-stages 8h:200:2`` for an eight-hour soak.

    Example:
        >>> shape = SoakShape()
        >>> [stage.text for stage in shape.stages], shape.duration / 3600
        (['7200:50:0.5'], 2.0)
    """

    stages: tuple[Stage, ...] = (
        Stage(duration=7200, users=50, spawn_rate=0.5),  # two hours at 50 users, reached in 100 s
    )
    params = (Param("stages", "--soak-stages", parse_stages, "stage table DURATION:USERS:SPAWN_RATE,..."),)
