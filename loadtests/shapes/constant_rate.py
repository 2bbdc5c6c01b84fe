"""The constant-arrival-rate shape: a target rate per stage, held by users that pace themselves."""

from __future__ import annotations

import math

from loadtests.shapes._base import (
    Param,
    RateStage,
    Stage,
    StagesShape,
    non_negative_float,
    parse_rate_stages,
    positive_float,
)

__all__ = ["ConstantRateShape", "users_for"]


def users_for(rate: float, per_user_rate: float) -> int:
    """Users needed for ``rate`` task runs a second when each user runs ``per_user_rate``: the ceiling.

    Example:
        >>> users_for(1000, 1.0), users_for(1.1, 0.1), users_for(250, 3.0), users_for(0, 2.0)
        (1000, 11, 84, 0)
    """
    # 1.1 / 0.1 is 11.000000000000002 in floating point: a hair of slack keeps it from becoming 12.
    return max(0, math.ceil(rate / per_user_rate - 1e-9))


class ConstantRateShape(StagesShape):
    """Hold a target arrival rate per stage: users = ceil(rate / per-user rate), whatever the latency.

    Use it to test at a given throughput (``rps>1000``) instead of a given concurrency. It only works
    when each user paces itself: the user class needs ``wait_time = constant_throughput(R)`` with R equal
    to ``per_user_rate``, so a user runs R tasks a second as long as a task takes less than 1/R s; rates
    are task runs a second, which are requests a second when each task makes one request. When the
    target slows down past 1/R s per task, the rate falls short: the ``rps`` gate shows it.

    Parameters (class attributes; option, environment variable):
        rates: the rate table, rows ``DURATION:RATE`` (``--rate-stages``, ``Y2S_RATE_STAGES``), e.g.
            ``--rate-stages 1m:100,10m:1000``.
        per_user_rate: the users' ``constant_throughput`` (``--rate-per-user``, ``Y2S_RATE_PER_USER``).
        spawn_rate: users started per second at a stage change; 0 (the default) starts a stage's users
            within one second (``--rate-spawn-rate``, ``Y2S_RATE_SPAWN_RATE``).

    Example:
        >>> shape = ConstantRateShape(per_user_rate=4.0)
        >>> shape.configure()
        >>> [stage.text for stage in shape.stages]
        ['60:25:25', '300:250:250']
    """

    rates: tuple[RateStage, ...] = (
        RateStage(duration=60, rate=100),  # warm up: caches, connection pools
        RateStage(duration=300, rate=1000),  # the seed throughput target (rps > 1000)
    )
    per_user_rate: float = 1.0
    spawn_rate: float = 0.0
    params = (
        Param("rates", "--rate-stages", parse_rate_stages, "rate table DURATION:RATE,... (task runs/s)"),
        Param("per_user_rate", "--rate-per-user", positive_float, "task runs per second of one user"),
        Param(
            "spawn_rate",
            "--rate-spawn-rate",
            non_negative_float,
            "users started per second (0: a stage's users in 1 s)",
        ),
    )

    def configured(self) -> None:
        if not (math.isfinite(self.spawn_rate) and self.spawn_rate >= 0):  # the parser checks options
            raise ValueError(f"spawn_rate {self.spawn_rate}: expected a number >= 0")
        stages = []
        for row in self.rates:
            users = users_for(row.rate, self.per_user_rate)
            stages.append(Stage(row.duration, users, self.spawn_rate or max(users, 1)))
        self.stages = tuple(stages)
