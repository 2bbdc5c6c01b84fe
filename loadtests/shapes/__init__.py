"""Load shapes, one per file: step (stress, finds the breaking point), spike, soak, constant arrival rate.

Give Locust the shape's file after the locustfile:
``locust -f loadtests/locustfile.py,loadtests/shapes/step.py --headless``. Each shape keeps its stage
table (or the parameters that make it) as class attributes; ``--<shape>-...`` options and ``Y2S_*``
environment variables override them, as listed in each class's docstring (Locust 2.47 prints
``--help`` before it imports the locustfiles, so options that files add do not show there). Subclass a
shape to change its defaults in code.
"""

from loadtests.shapes._base import Param, RateStage, ShapeBase, Stage, StagesShape, parse_duration
from loadtests.shapes.constant_rate import ConstantRateShape, users_for
from loadtests.shapes.soak import SoakShape
from loadtests.shapes.spike import SpikeShape
from loadtests.shapes.step import BreakingPoint, StepLoadShape, window_ok

__all__ = [
    "BreakingPoint",
    "ConstantRateShape",
    "Param",
    "RateStage",
    "ShapeBase",
    "SoakShape",
    "SpikeShape",
    "Stage",
    "StagesShape",
    "StepLoadShape",
    "parse_duration",
    "users_for",
    "window_ok",
]
