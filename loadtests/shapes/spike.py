"""The spike shape: a steady baseline, a sudden jump in users, then back to the baseline to watch recovery."""

from __future__ import annotations

from loadtests.shapes._base import Param, Stage, StagesShape, parse_stages

__all__ = ["SpikeShape"]


class SpikeShape(StagesShape):
    """Hold a baseline, start many users at once, hold them briefly, drop back and hold the baseline again.

    Use it to see whether the target absorbs a burst (queueing, autoscaling, rate limits) and how fast it
    recovers: compare the windows after the spike with those before it. The spike's spawn rate equals its
    users, so they all start within a second; the drop back is as fast. The test ends after the last row.

    Parameters (class attributes; option, environment variable):
        stages: the stage table, rows ``DURATION:USERS:SPAWN_RATE`` (``--spike-stages``,
            ``Y2S_SPIKE_STAGES``), e.g. ``--spike-stages 2m:20:20,1m:400:400,3m:20:400``.

    Example:
        >>> shape = SpikeShape()
        >>> [stage.text for stage in shape.stages], shape.duration
        (['60:10:10', '30:100:100', '90:10:100'], 180.0)
    """

    stages: tuple[Stage, ...] = (
        Stage(duration=60, users=10, spawn_rate=10),  # baseline
        Stage(duration=30, users=100, spawn_rate=100),  # the spike: 10x the users within a second
        Stage(duration=90, users=10, spawn_rate=100),  # recovery, watched for three times as long
    )
    params = (Param("stages", "--spike-stages", parse_stages, "stage table DURATION:USERS:SPAWN_RATE,..."),)
