"""YouTube2Sheets users: read a sheet's rows, fetch a video, export a sheet as CSV, trigger a sync.

Run ``locust -f loadtests/locustfile.py --headless -u 20 -t 1m`` against the service on
http://127.0.0.1:8000 (``-H`` for another) with its simulator on http://127.0.0.1:8001; the gates of
`loadtests.plugin` apply (the seed thresholds unless ``--thresholds`` says otherwise). Add a shape with
``-f loadtests/locustfile.py,loadtests/shapes/step.py``.

Each `Y2SUser` runs its tasks back to back, picked at random by weight (``--y2s-weights``, env
``Y2S_WEIGHTS``, default ``rows=6,video=10,csv=1,sync=0.1``; fractional weights are fine):

- rows: ``GET /api/sheets/{sheet}/rows?page=&per_page=50&sort=&order=``, a random page, column and
  order (``name="/api/sheets/[sheet]/rows"``);
- video: ``GET /api/videos/{id}``, a random video of the data set, which the service caches
  (``name="/api/videos/[id]"``);
- csv: ``GET /api/sheets/{sheet}.csv``, the whole sheet, streamed (``name="/api/sheets/[sheet].csv"``);
- sync: ``POST /api/sync``, a channel re-synced into its sheet: idempotent, costs YouTube quota
  (``name="/api/sync"``).

The data set: when the test starts, the master (or the local process) syncs each of ``--y2s-channels``
(env ``Y2S_CHANNELS``; channel ids, or video counts looked up in the simulator's ``GET /admin/channels``
at ``--y2s-simulator-url``; default ``50,237``, the simulator's 50- and 237-video channels) into a
sheet ``loadtest-<channel id>``, reads back the video ids, and sends the lot to every worker. That
set-up traffic is not part of the measured run. With the constant-arrival-rate shape, users pace
themselves with ``constant_throughput`` at the shape's per-user rate.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.runners import MasterRunner, WorkerRunner

from loadtests import plugin
from loadtests.gates import EXIT_ERROR, EXIT_UNREACHABLE

DEFAULT_WEIGHTS = "rows=6,video=10,csv=1,sync=0.1"
DEFAULT_CHANNELS = "50,237"
DEFAULT_SIMULATOR = "http://127.0.0.1:8001"
PER_PAGE = 50
SORTS = ("published_at", "views", "likes", "comments", "title", "duration_seconds")
MESSAGE = "y2s_data_set"  # master -> workers: the data set
TIMEOUT = 60.0  # seconds for one set-up request (a sync of a big channel takes a while)


@dataclass
class Sheet:
    name: str
    channel_id: str
    rows: int


@dataclass
class DataSet:
    """The sheets and video ids the users pick from (the same on every worker)."""

    sheets: list[Sheet] = field(default_factory=list)
    video_ids: list[str] = field(default_factory=list)

    def as_message(self) -> dict[str, Any]:
        return {"sheets": [[s.name, s.channel_id, s.rows] for s in self.sheets], "video_ids": self.video_ids}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> DataSet:
        return cls([Sheet(str(n), str(c), int(r)) for n, c, r in data["sheets"]], list(data["video_ids"]))


DATA = DataSet()


def parse_weights(text: str) -> dict[str, int]:
    """``rows=6,video=10,csv=1,sync=0.1`` as whole task weights in the same ratios.

    Example:
        >>> parse_weights("rows=6,video=10,csv=1,sync=0.1")
        {'rows': 60, 'video': 100, 'csv': 10, 'sync': 1}
        >>> parse_weights("video=1")
        {'rows': 0, 'video': 1, 'csv': 0, 'sync': 0}
    """
    weights = dict.fromkeys(TASKS, Fraction(0))
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in weights:
            raise ValueError(f"weight {part!r}: expected TASK=NUMBER with TASK one of {', '.join(TASKS)}")
        try:
            number = Fraction(value.strip()).limit_denominator(1000)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"weight {part!r}: {value.strip()!r} is not a number") from None
        if number < 0:
            raise ValueError(f"weight {part!r}: must not be negative")
        weights[key] = number
    if not any(weights.values()):
        raise ValueError(f"weights {text!r}: expected at least one task with a weight > 0")
    scale = math.lcm(*(w.denominator for w in weights.values()))
    whole = {k: int(w * scale) for k, w in weights.items()}
    divisor = math.gcd(*whole.values())
    return {k: w // divisor for k, w in whole.items()}


def _weights_type(text: str) -> str:
    try:
        parse_weights(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_options(parser: Any, **_kwargs: Any) -> None:
    group = parser.add_argument_group("YouTube2Sheets users (loadtests/locustfile.py)")
    group.add_argument(
        "--y2s-weights",
        env_var="Y2S_WEIGHTS",
        default=DEFAULT_WEIGHTS,
        type=_weights_type,
        help=f"task weights (default {DEFAULT_WEIGHTS})",
    )
    group.add_argument(
        "--y2s-channels",
        env_var="Y2S_CHANNELS",
        default=DEFAULT_CHANNELS,
        help=f"channel ids, or video counts of the simulator's channels (default {DEFAULT_CHANNELS})",
    )
    group.add_argument(
        "--y2s-simulator-url",
        env_var="Y2S_SIMULATOR_URL",
        default=DEFAULT_SIMULATOR,
        help=f"the YouTube simulator, to look channels up (default {DEFAULT_SIMULATOR})",
    )


class Y2SUser(FastHttpUser):
    """A YouTube2Sheets client: rows, videos, CSV exports and the odd sync (see the module docstring)."""

    host = "http://127.0.0.1:8000"
    wait_time = constant(0)  # closed loop at full speed: the users (or the shape) set the load

    def _sheet(self) -> Sheet:
        if not DATA.sheets:
            raise RuntimeError("no data set: the master did not sync any sheet before the users started")
        return random.choice(DATA.sheets)  # noqa: S311  (load, not secrets)

    @task
    def rows(self) -> None:
        sheet = self._sheet()
        page = random.randint(1, max(1, math.ceil(sheet.rows / PER_PAGE)))  # noqa: S311
        sort, order = random.choice(SORTS), random.choice(("asc", "desc"))  # noqa: S311
        query = urllib.parse.urlencode({"page": page, "per_page": PER_PAGE, "sort": sort, "order": order})
        self.client.get(f"/api/sheets/{sheet.name}/rows?{query}", name="/api/sheets/[sheet]/rows")

    @task
    def video(self) -> None:
        if not DATA.video_ids:
            raise RuntimeError("no data set: no video ids were collected before the users started")
        video_id = random.choice(DATA.video_ids)  # noqa: S311
        self.client.get(f"/api/videos/{video_id}", name="/api/videos/[id]")

    @task
    def csv(self) -> None:
        sheet = self._sheet()
        self.client.get(f"/api/sheets/{sheet.name}.csv", name="/api/sheets/[sheet].csv")

    @task
    def sync(self) -> None:
        sheet = self._sheet()
        body = {"channel_id": sheet.channel_id, "sheet": sheet.name}
        self.client.post("/api/sync", json=body, name="/api/sync")


TASKS = {"rows": Y2SUser.rows, "video": Y2SUser.video, "csv": Y2SUser.csv, "sync": Y2SUser.sync}


def apply_weights(environment: Any, **_kwargs: Any) -> None:
    """On every node: the task mix from ``--y2s-weights``; pacing for the constant-rate shape."""
    options = environment.parsed_options
    weights = parse_weights(getattr(options, "y2s_weights", None) or DEFAULT_WEIGHTS)
    Y2SUser.tasks = [TASKS[name] for name, weight in weights.items() for _ in range(weight)]
    shape = environment.shape_class
    if shape is not None and hasattr(shape, "per_user_rate"):
        if hasattr(shape, "ensure_configured"):
            shape.ensure_configured()
        Y2SUser.wait_time = constant_throughput(float(shape.per_user_rate))


# --- the data set -----------------------------------------------------------------------------------


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310  (the -H and simulator URLs)
        return json.loads(response.read())


def _channel_ids(spec: str, simulator: str) -> list[str]:
    wanted = [part.strip() for part in spec.split(",") if part.strip()]
    sizes = [int(p) for p in wanted if p.isdigit()]
    ids = [p for p in wanted if not p.isdigit()]
    if sizes:
        try:
            listed = _call("GET", f"{simulator.rstrip('/')}/admin/channels")["channels"]
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
            reason = getattr(exc, "reason", exc)
            raise plugin.Abort(
                f"simulator {simulator} is unreachable: GET /admin/channels: {reason}", EXIT_UNREACHABLE
            ) from None
        by_size = {int(c["videos"]): str(c["id"]) for c in listed}
        for size in sizes:
            if size not in by_size:
                known = ", ".join(str(s) for s in sorted(by_size))
                raise plugin.Abort(
                    f"--y2s-channels: the simulator has no channel with {size} videos ({known})"
                )
            ids.append(by_size[size])
    if not ids:
        raise plugin.Abort(f"--y2s-channels {spec!r}: expected channel ids or video counts, e.g. 50,237")
    return ids


def load_data_set(host: str, channels: str, simulator: str) -> DataSet:
    """Sync each channel into its sheet and read back every video id (``plugin.Abort`` on failure)."""
    data = DataSet()
    base = host.rstrip("/")
    for channel_id in _channel_ids(channels, simulator):
        sheet = f"loadtest-{channel_id}"
        try:
            synced = _call("POST", f"{base}/api/sync", {"channel_id": channel_id, "sheet": sheet})
            ids: list[str] = []
            for page in range(1, math.ceil(int(synced["rows"]) / 500) + 1):
                found = _call("GET", f"{base}/api/sheets/{sheet}/rows?page={page}&per_page=500&sort=video_id")
                ids += [row["video_id"] for row in found["rows"]]
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:200]
            raise plugin.Abort(
                f"data set: syncing {channel_id} into {sheet} answered {err.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
            reason = getattr(exc, "reason", exc)
            raise plugin.Abort(
                f"data set: syncing {channel_id} into {sheet} failed: {reason}", EXIT_ERROR
            ) from None
        data.sheets.append(Sheet(sheet, channel_id, len(ids)))
        data.video_ids += ids
    return data


@plugin.before_run
def data_set(environment: Any) -> None:
    """Master or local: build the data set before the clock starts; send it to the workers."""
    global DATA  # noqa: PLW0603  (the users read the module's data set)
    options = environment.parsed_options
    host = environment.host or Y2SUser.host
    DATA = load_data_set(
        host,
        getattr(options, "y2s_channels", None) or DEFAULT_CHANNELS,
        getattr(options, "y2s_simulator_url", None) or DEFAULT_SIMULATOR,
    )
    if isinstance(environment.runner, MasterRunner):
        environment.runner.send_message(MESSAGE, DATA.as_message())


def receive_data_set(environment: Any, runner: Any = None, **_kwargs: Any) -> None:
    """Worker: take the master's data set."""
    if isinstance(runner, WorkerRunner):

        def on_message(msg: Any, **_: Any) -> None:
            global DATA  # noqa: PLW0603
            DATA = DataSet.from_message(msg.data)

        runner.register_message(MESSAGE, on_message)


plugin.listen(events.init_command_line_parser, add_options)
plugin.listen(events.test_start, apply_weights)
plugin.listen(events.init, receive_data_set)
