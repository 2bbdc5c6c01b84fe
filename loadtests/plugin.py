"""The Locust plugin: gates with exit codes, exact samples, live metrics and results for any locustfile.

Import it from a locustfile (``from loadtests import plugin  # noqa: F401``); importing only registers
Locust event listeners. Then a plain ``locust -f loadtests/locustfile.py --headless`` gates the run on
the seed thresholds and exits 0 (pass), 1 (thresholds failed), 2 (load-generator error: bad options,
errors in user code, results not written) or 3 (target unreachable before the run).

Options (each also from ``Y2S_<NAME>``, e.g. ``Y2S_THRESHOLDS``, and from Locust's config files):

- ``--thresholds`` (default: the seed gates, `loadtests.thresholds.defaults`: ``p95<2000,
  error_rate<0.001,rps>1000``); per request name ``p99{name=/api/videos/[id]}<500``;
- ``--thresholds-file`` (YAML ``{thresholds: [...], window_seconds, consecutive_windows}``; its
  thresholds are used together with ``--thresholds``);
- ``--window-seconds`` (10), ``--consecutive-windows`` (3: failed windows in a row that stop the step
  shape);
- ``--results-dir`` (``loadtest-results``): ``summary.json``, ``chart.png``, and Locust's
  ``report.html`` and ``locust_*.csv`` unless ``--html``/``--csv`` say otherwise;
- ``--metrics-port`` (9646; 0: off), ``--metrics-host`` (127.0.0.1), ``--metrics-linger`` (0: seconds
  to keep serving once the verdict is known, for a last scrape);
- ``--y2s-preflight-path`` (``/healthz``): GET on the host before the run; no answer, or a 5xx, is exit
  code 3; empty: no check;
- ``--prometheus-url``, ``--baseline``, ``--regression-margin`` (0.10): the server-side gate after the
  run (`loadtests.server_gate`);
- ``--grafana-url``, ``--grafana-token-file``: start and stop annotations.

The plugin also changes two of Locust's defaults: ``--stop-timeout`` is 10 s, so that users finish the
request in flight when the run stops and every request the target served is measured; and ``--html``
and ``--csv`` point into ``--results-dir`` (no CSV by default with ``--processes``: Locust 2.47's CSV
writer greenlet can still run after the files are closed while the parent waits for its children,
and prints a traceback).

How a run goes: at ``init`` the master (or local process) checks the options (a bad one: one line on
stderr, exit code 2), makes the `loadtests.runtime.Run` and serves the live metrics. At ``test_start``
it GETs the target's health path, runs the `before_run` hooks (the locustfile's data set), starts the
clock and a greenlet that closes a window every ``--window-seconds``. Every request goes into the
samples: directly when local; on workers into their own store, shipped with each report to the master
and merged there, so the master's numbers are exact. On the master a window closes only once every
worker has reported past its end. At ``quitting`` (after the last worker report) the run is evaluated,
the results are written and ``environment.process_exit_code`` is set.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import gevent  # type: ignore[import-untyped]  # no stubs in the venv (types-gevent would add them)
from locust import events
from locust import log as locust_log
from locust.argument_parser import get_empty_argument_parser
from locust.runners import (
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    WORKER_REPORT_INTERVAL,
    MasterRunner,
    WorkerRunner,
)

from . import live, results, runtime
from .gates import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, Result
from .samples import Samples
from .thresholds import ThresholdError, load_file, parse_list

__all__ = ["Abort", "before_run", "listen", "preflight"]

logger = logging.getLogger("loadtests")
REPORT_KEY = "loadtests"  # the key of our data in a worker's report to the master
PROG = "loadtests"
GRACEFUL_STOP_SECONDS = 10.0  # default --stop-timeout
ABORT_WAIT_TICKS = 50  # 5 s at most in _abort


class Abort(Exception):
    """Raised by a `before_run` hook: the run does not start; one line, and ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


_hooks: list[Callable[[Any], None]] = []


def before_run(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """Run ``hook(environment)`` on the master (or local process) at test start, after the preflight
    check and before the clock starts: set-up traffic (a data set) is not part of the measured run.

    Raise `Abort` to stop with one line and its exit code. Example::

        @plugin.before_run
        def data_set(environment):
            ...  # sync the sheets the users read
    """
    _hooks.append(hook)
    return hook


# --- options ----------------------------------------------------------------------------------------


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that checks the text and keeps it (option values travel to workers as text)."""

    def convert(text: str) -> str:
        try:
            check(text)
        except (ThresholdError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    convert.__name__ = getattr(check, "__name__", "value")
    return convert


def _number(low: float, integer: bool = False, above: bool = False) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            kind = "whole number" if integer else "number"
            raise argparse.ArgumentTypeError(f"{text!r}: expected a {kind}") from None
        if not math.isfinite(value) or value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number {'>' if above else '>='} {low:g}")
        return value

    return convert


def _port(text: str) -> int:
    value = int(_number(0, integer=True)(text))
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port from 0 (off) to 65535")
    return value


def _early_options(parser: Any) -> argparse.Namespace:
    """``--results-dir``, ``--worker`` and ``--processes`` as given (argv, env, config files): Locust
    opens its CSV files before any listener sees the parsed options, so their defaults come from these."""
    pre = get_empty_argument_parser(
        add_help=False, default_config_files=getattr(parser, "_default_config_files", [])
    )
    pre.add_argument("--results-dir", env_var="Y2S_RESULTS_DIR", default=runtime.DEFAULT_RESULTS_DIR)
    pre.add_argument("--worker", action="store_true", env_var="LOCUST_MODE_WORKER")
    pre.add_argument("--processes", type=int, default=0, env_var="LOCUST_PROCESSES")
    try:
        known: argparse.Namespace = pre.parse_known_args()[0]
    except SystemExit:  # a broken config file or value: Locust's own parser reports it next
        known = argparse.Namespace(results_dir=runtime.DEFAULT_RESULTS_DIR, worker=False, processes=0)
    return known


def _unwritable(directory: Path) -> str | None:
    """Why ``directory`` cannot be made or written, or None (nothing is created here)."""
    path = directory.absolute()
    while not path.exists():
        path = path.parent
    if not path.is_dir():
        return f"{path} is not a directory"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None


def add_options(parser: Any, **_kwargs: Any) -> None:
    """Add the plugin's options; make Locust write its HTML report and CSV into ``--results-dir``."""
    group = parser.add_argument_group(
        "Gates, results and live metrics (loadtests.plugin)", "Each option also reads Y2S_<OPTION>."
    )

    def add(option: str, env: str | None = None, **kwargs: Any) -> None:
        name = env or "Y2S_" + option.removeprefix("--").replace("-", "_").upper()
        group.add_argument(option, env_var=name, **kwargs)  # a group: kept out of the web UI

    add("--thresholds", type=_checked(parse_list), metavar="LIST", help="gates, e.g. 'p95<2000,rps>1000' "
        "(default: the seed gates of alerting/thresholds.yml)")  # fmt: skip
    add("--thresholds-file", type=_checked(lambda p: load_file(Path(p))), metavar="PATH",
        help="YAML: thresholds, window_seconds, consecutive_windows")  # fmt: skip
    add("--window-seconds", type=_number(0, above=True), metavar="S", help="window length (default 10)")
    add("--consecutive-windows", type=_number(1, integer=True), metavar="N",
        help="failed windows in a row that stop the step shape (default 3)")  # fmt: skip
    add("--results-dir", default=runtime.DEFAULT_RESULTS_DIR, metavar="DIR", help="where results go")
    add("--metrics-port", type=_port, default=runtime.DEFAULT_METRICS_PORT, help="live metrics (0: off)")
    add("--metrics-host", default="127.0.0.1", help="address of the live metrics")
    add("--metrics-linger", type=_number(0), default=0.0, metavar="S",
        help="seconds to keep serving the live metrics after the verdict (a last scrape)")  # fmt: skip
    add("--y2s-preflight-path", env="Y2S_PREFLIGHT_PATH", default="/healthz", metavar="PATH",
        help="GET on the host before the run; empty: no check")  # fmt: skip
    add("--prometheus-url", metavar="URL", help="run the server-side gate on this Prometheus after the run")
    add("--baseline", metavar="PATH", help="server-side baseline JSON to compare with")
    add("--regression-margin", type=_number(0), default=0.10, help="allowed regression (default 0.10)")
    add("--grafana-url", metavar="URL", help="post start/stop annotations to this Grafana")
    add("--grafana-token-file", metavar="PATH", help="file holding a Grafana service-account token")
    # Users finish the request in flight when the run stops (k6's gracefulStop), so every request the
    # target served is measured; --stop-timeout 0 kills them at once, as plain Locust does.
    parser.set_defaults(stop_timeout=GRACEFUL_STOP_SECONDS)
    early = _early_options(parser)
    if not early.worker:
        problem = _unwritable(Path(early.results_dir))
        if problem is not None:  # Locust opens its CSV files there before any other check
            _fail(f"--results-dir {early.results_dir}: {problem}")
        parser.set_defaults(html_file=str(Path(early.results_dir) / "report.html"))
        if not early.processes:  # with --processes, Locust's CSV writer outlives its files at exit
            parser.set_defaults(csv_prefix=str(Path(early.results_dir) / "locust"))


# --- the run ----------------------------------------------------------------------------------------


class _Worker:
    """A worker's samples and live counts since its last report."""

    def __init__(self) -> None:
        self.samples = Samples()
        self.aggregate = live.Aggregate()
        self.last: float | None = None

    def add(self, t: float, name: str, method: str, latency_ms: float, failed: bool) -> None:
        self.samples.add(t, name, method, latency_ms, failed)
        self.aggregate.observe(method, name, latency_ms, failed)
        self.last = t

    def report(self) -> dict[str, Any]:
        until = time.time()  # gevent: every request that ended before now is in this export
        samples, counts = self.samples.export(), self.aggregate.drain()
        return {"samples": samples, "live": counts, "last": self.last, "until": until}


class _State:
    worker: _Worker | None = None
    server: live.MetricsServer | None = None
    windows: gevent.Greenlet | None = None
    aborted: int | None = None


_state = _State()


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.exit(code)


def _hosts(environment: Any) -> list[str]:
    if environment.host:
        return [environment.host]
    return sorted({c.host for c in environment.user_classes if getattr(c, "host", None)})


def on_init(environment: Any, runner: Any = None, **_kwargs: Any) -> None:
    """Master or local: check the options, make the run, serve the live metrics. Worker: a sample store."""
    _state.aborted = None
    if isinstance(runner, WorkerRunner):
        _state.worker = _Worker()
        runtime.set_current(None)
        return
    try:
        settings = runtime.Settings.from_options(environment.parsed_options)
    except runtime.SettingsError as exc:
        _fail(str(exc))
    if settings.grafana_token_file is not None:
        try:
            settings.grafana_token_file.read_text()
        except OSError as exc:
            _fail(f"--grafana-token-file {settings.grafana_token_file}: cannot read: {exc.strerror}")
    options = environment.parsed_options
    if options is not None:  # shapes read the resolved values (a thresholds file may set them)
        options.window_seconds = settings.window_seconds
        options.consecutive_windows = settings.consecutive_windows
    run = runtime.Run(environment, settings)
    run.live.shape = "none" if environment.shape_class is None else type(environment.shape_class).__name__
    run.live.host = ",".join(_hosts(environment))
    if settings.metrics_port:
        try:
            _state.server = live.serve(run.live, settings.metrics_host, settings.metrics_port)
        except OSError as exc:
            where = f"{settings.metrics_host}:{settings.metrics_port}"
            _fail(f"--metrics-port {settings.metrics_port}: cannot listen on {where}: {exc.strerror or exc}")
        logger.info("live metrics on %s", _state.server.url)
    runtime.set_current(run)


def preflight(hosts: list[str], path: str, timeout: float = 5.0) -> str | None:
    """GET ``path`` on each host: None when all answer below 500, else the one-line problem."""
    for host in hosts:
        url = host.rstrip("/") + path
        try:
            with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310  (the -H URL)
                pass
        except urllib.error.HTTPError as err:
            if err.code >= 500:
                return f"target {host} is not healthy: GET {path} answered {err.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"target {host} is unreachable: GET {url}: {reason}"
    return None


def _abort(environment: Any, code: int, message: str) -> None:
    """The run does not happen: one line, the exit code, no report; Locust stops before any user starts.

    Called in ``test_start``, in the greenlet that would spawn the users next: it waits here while
    another greenlet stops the runner, which kills this one (a local run), or quits the process (the
    master). Waiting is bounded, for the web UI, where the runner is only stopped.
    """
    sys.stderr.write(f"{PROG}: error: {message}\n")
    _state.aborted = code
    environment.process_exit_code = code
    options = environment.parsed_options
    if options is not None:
        options.html_file = None  # no report of a run that did not take place
    headless = options is None or bool(getattr(options, "headless", False))
    gevent.spawn(environment.runner.quit if headless else environment.runner.stop)
    for _ in range(ABORT_WAIT_TICKS):
        gevent.sleep(0.1)


def on_test_start(environment: Any, **_kwargs: Any) -> None:
    """Preflight, set-up hooks, then the clock and the window greenlet (master or local)."""
    if _state.worker is not None:
        _state.worker = _Worker()
        return
    run = runtime.current()
    if run is None or _state.aborted is not None:
        return
    if run.settings.preflight_path:
        problem = preflight(_hosts(environment), run.settings.preflight_path)
        if problem is not None:
            _abort(environment, EXIT_UNREACHABLE, problem)
            return
    try:
        for hook in _hooks:
            hook(environment)
    except Abort as exc:
        _abort(environment, exc.exit_code, str(exc))
        return
    _annotate(run, time.time(), ["loadtest", "start"], f"load test started ({run.live.shape})")
    run.begin()
    if _state.windows is not None:
        _state.windows.kill(block=False)
    _state.windows = gevent.spawn(_close_windows, run, environment.runner)


def _reported(run: runtime.Run, runner: Any, end: float) -> bool:
    """Whether every connected worker has reported everything up to ``end``."""
    ids = [c.id for c in runner.clients.all if c.state != STATE_MISSING]
    return all(run.reported.get(worker, -math.inf) >= end for worker in ids)


def _close_windows(run: runtime.Run, runner: Any) -> None:
    while True:
        _, end = run.next_window()
        while (now := time.time()) < end:
            run.note_users(now)
            gevent.sleep(min(1.0, end - now))
        run.note_users(end)  # the users at the window's end (noted a few ms after it)
        if isinstance(runner, MasterRunner):
            deadline = end + 2 * WORKER_REPORT_INTERVAL + 1
            while time.time() < deadline and not _reported(run, runner, end):
                run.note_users()
                gevent.sleep(0.1)
        window = run.close_window(end)
        logger.info(
            "window %d: %d users: %s", len(run.gates.windows), window.users, _verdicts(window.results)
        )


def on_request(
    request_type: str, name: str, response_time: float | None, exception: object = None, **_: Any
) -> None:
    """Every request into the samples (the worker's own store on a worker)."""
    t = time.time()
    latency = float(response_time or 0.0)
    if _state.worker is not None:
        _state.worker.add(t, name, request_type, latency, exception is not None)
        return
    run = runtime.current()
    if run is not None and run.start is not None:
        run.add(t, name, request_type, latency, exception is not None)


def on_report_to_master(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    """Worker: ship what was collected since the last report."""
    if _state.worker is not None:
        data[REPORT_KEY] = _state.worker.report()


def on_worker_report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    """Master: merge a worker's samples and counts."""
    run = runtime.current()
    if run is None or REPORT_KEY not in data or run.start is None:
        return
    clients = getattr(run.environment.runner, "clients", None)
    if clients is not None and client_id not in clients:
        return  # a worker of another master on this port: Locust discards its reports too
    run.merge(client_id, data[REPORT_KEY])


def on_test_stopping(environment: Any, **_kwargs: Any) -> None:
    """Master or local: note the users before they stop (the last window's users)."""
    run = runtime.current()
    if run is not None and run.start is not None and run.users_at_stop is None:
        run.stopping()


def on_test_stop(environment: Any, **_kwargs: Any) -> None:
    """Master or local: note when users were told to stop; no more windows."""
    run = runtime.current()
    if run is not None and run.start is not None and run.stopped is None:
        run.stopped = time.time()
    if _state.windows is not None:
        _state.windows.kill(block=False)
        _state.windows = None


def _annotate(run: runtime.Run, when: float, tags: list[str], text: str) -> None:
    url, token_file = run.settings.grafana_url, run.settings.grafana_token_file
    if url is None:
        return
    try:
        token = token_file.read_text().strip() if token_file is not None else None
        live.annotate(url, when, tags, text, token=token)
    except (OSError, ValueError) as exc:  # an annotation is a courtesy: it never fails the run
        logger.warning("Grafana annotation not posted to %s: %s", url, getattr(exc, "reason", exc))


def _server_gate(run: runtime.Run) -> tuple[dict[str, Any] | None, int]:
    settings = run.settings
    if settings.prometheus_url is None or run.start is None or run.end is None:
        return None, EXIT_OK
    from . import server_gate  # noqa: PLC0415  (only when asked for)

    try:
        gate = server_gate.evaluate(
            settings.prometheus_url,
            run.start,
            run.end,
            thresholds=run.thresholds,
            baseline=settings.baseline,
            margin=settings.regression_margin,
        )
    except server_gate.ServerGateError as exc:
        sys.stderr.write(f"{PROG}: error: server-side gate: {exc}\n")
        return {"error": str(exc), "verdict": "error", "exit_code": EXIT_ERROR}, EXIT_ERROR
    for line in server_gate.report(gate):
        logger.info("server gate: %s", line)
    return gate, int(gate["exit_code"])


def _finish(environment: Any, run: runtime.Run) -> int:
    found = run.finish()
    code = run.gates.exit_code(found)
    for r in found:
        logger.info("%s %s: %.6g", "PASS" if r.passed else "FAIL", r.threshold.text, r.value)
    runner = environment.runner
    if runner is not None and runner.exceptions:
        count = sum(e["count"] for e in runner.exceptions.values())
        first = next(iter(runner.exceptions.values()))["msg"]
        sys.stderr.write(f"{PROG}: error: {count} exceptions in user code, the first: {first}\n")
        code = EXIT_ERROR
    if locust_log.unhandled_greenlet_exception:
        sys.stderr.write(f"{PROG}: error: an event handler or greenlet failed (see the log above)\n")
        code = EXIT_ERROR
    gate, gate_code = _server_gate(run)
    code = max(code, gate_code)
    directory = run.settings.results_dir
    try:
        results.write_chart(directory / results.CHART, run)
    except OSError as exc:
        sys.stderr.write(f"{PROG}: error: cannot write {directory / results.CHART}: {exc.strerror or exc}\n")
        code = EXIT_ERROR
    try:  # last, so that its exit code is the process's
        results.write_summary(directory / results.SUMMARY, results.summary(run, found, code, gate))
    except OSError as exc:
        sys.stderr.write(
            f"{PROG}: error: cannot write {directory / results.SUMMARY}: {exc.strerror or exc}\n"
        )
        code = EXIT_ERROR
    verdict = "pass" if code == EXIT_OK else "fail"
    text = f"load test {verdict} (exit code {code}): " + ", ".join(
        f"{r.threshold.text} {'ok' if r.passed else 'FAILED'}" for r in found
    )
    _annotate(run, run.end or time.time(), ["loadtest", "stop", verdict], text)
    logger.info("%s; results in %s", text, directory)
    return code


def _drop_csv(environment: Any) -> None:
    """Remove the CSV files Locust opened for a run that did not take place (headers only)."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    for suffix in ("stats", "stats_history", "failures", "exceptions"):
        if prefix:
            Path(f"{prefix}_{suffix}.csv").unlink(missing_ok=True)


def on_quitting(environment: Any, **_kwargs: Any) -> None:
    """Master or local: evaluate the run, write the results, set the exit code; stop the metrics."""
    if _state.worker is not None:
        return
    run = runtime.current()
    if _state.aborted is not None:
        _drop_csv(environment)
    try:
        if run is not None and run.start is not None and _state.aborted is None:
            runner = environment.runner
            if runner is not None and runner.state in (STATE_SPAWNING, STATE_RUNNING):
                runner.stop()  # quitting on SIGTERM: stop the users (gracefully) before the verdict
            on_test_stop(environment)
            try:
                environment.process_exit_code = _finish(environment, run)
            except Exception:  # a bug here must not pass for a verdict: log it, exit 2
                logger.exception("evaluating the run failed")
                environment.process_exit_code = EXIT_ERROR
            if _state.server is not None and run.settings.metrics_linger > 0:
                gevent.sleep(run.settings.metrics_linger)
    finally:
        if _state.server is not None:
            _state.server.stop()
            _state.server = None


def _verdicts(found: Sequence[Result]) -> str:
    return ", ".join(f"{'PASS' if r.passed else 'FAIL'} {r.threshold.text} ({r.value:.6g})" for r in found)


def listen(hook: Any, handler: Callable[..., None]) -> None:
    """``hook.add_listener(handler)`` (Locust's ``EventHook.add_listener`` is untyped)."""
    hook.add_listener(handler)


listen(events.init_command_line_parser, add_options)
listen(events.init, on_init)
listen(events.test_start, on_test_start)
listen(events.request, on_request)
listen(events.report_to_master, on_report_to_master)
listen(events.worker_report, on_worker_report)
listen(events.test_stopping, on_test_stopping)
listen(events.test_stop, on_test_stop)
listen(events.quitting, on_quitting)
