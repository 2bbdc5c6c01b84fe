"""The load-test harness against plain Locust on nginx, its percentiles against the exact ones, and
(``--service``) the reference service's breaking point found by the step shape.

What is measured, and how
-------------------------
Debian's nginx (``scripts/bench`` installs it when run as root; on a host with systemd the package
also starts its own default site on port 80, which is not used here) serves a small static file on
127.0.0.1 from a temporary prefix and config (one worker, no access log). Two benchmark-only
locustfiles, written to a temporary directory, run the same ``FastHttpUser`` (``GET /hello.txt``, no
wait) under ``locust --headless -u USERS -r USERS -t SECONDS --only-summary``:

- **plain**: Locust and nothing else;
- **harness**: the same user with ``loadtests.plugin`` imported, the seed gates on, the live metrics
  served (``--metrics-port``), ``summary.json``, ``chart.png`` and the HTML report written; plus a
  ``request`` listener that writes every response time it sees to a file per process: the exact
  samples (so any cost it has counts against the harness).

They run in ``--rounds`` interleaved rounds (plain then harness, the order alternating), in one
process and with ``--processes 2``. Throughput is Locust's own aggregated ``Requests/s`` from its CSV
for both, and the overhead is one minus the median over rounds of harness/plain, so that drift in
the machine's speed cancels out. Percentile accuracy, per harness run: p95 and p99 of
``summary.json`` (ours) and of Locust's CSV (2-significant-digit buckets) against
``numpy.percentile(all samples, method="linear")``.

Targets: overhead <= 5 % of plain Locust's req/s in one process and in two; our p95 and p99 within 1 %
of the exact values in every run. Locust's own error is printed beside ours, with no target.

``--service``: the simulator and the service (``--workers 2``) on 127.0.0.1, and
``locust -f loadtests/locustfile.py,loadtests/shapes/step.py`` with the seed gates climbing in steps
until they fail 3 windows in a row (200 users, +200 every 30 s, 10 s windows; ``--quick``: +400
every 10 s, 3 s windows); prints the climb window by window and the breaking point of summary.json.
Targets: a breaking point is found, and at it the service met the seed gates at more than
``loadtest.min_rps`` (1000) req/s.

Exit status 0 when every target passes, 1 otherwise, 2 on a setup error (one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
OVERHEAD_TARGET = 0.05
ACCURACY_TARGET = 0.01
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {prefix}/www;
  }}
}}
"""
LOCUSTFILE = """\
# Written by benchmarks/loadtest_harness.py: the same user, {what}.
import array
import os

from locust import FastHttpUser, constant, events, task
{extra}

class Static(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/hello.txt")
"""
RECORDER = """
from loadtests import plugin  # noqa: F401  (the harness: gates, samples, live metrics, results)

_LATENCIES = array.array("d")


@events.request.add_listener
def _record(response_time=None, **_kwargs):
    _LATENCIES.append(float(response_time or 0.0))


@events.quitting.add_listener
def _write(**_kwargs):
    if _LATENCIES:  # a worker's samples; the master sees none
        path = os.path.join(os.environ["BENCH_SAMPLES_DIR"], f"{os.getpid()}.bin")
        with open(path, "wb") as out:
            _LATENCIES.tofile(out)
"""


class SetupError(Exception):
    """The benchmark could not run; printed as one line, exit status 2."""


@dataclass
class Locust:
    """One finished Locust run: its aggregated CSV row, and for the harness summary.json and the samples."""

    rps: float
    requests: int
    failures: int
    p95: float  # Locust's own, ms
    p99: float
    summary: dict[str, object] | None = None
    exact: np.ndarray | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


def post_json(url: str, payload: dict[str, str], timeout: float = 120.0) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()


def last_line(log: Path) -> str:
    """The last line of ``log`` that says ``error`` (else its last line): what went wrong, in one line."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or ["(no output)"])[-1][:300]


@contextmanager
def started(args: Sequence[str], log: Path, health: str, timeout: float = 60.0) -> Iterator[None]:
    """A server process, up once ``health`` answers; stopped (SIGTERM, then SIGKILL) afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=child_env())
    try:
        end = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise SetupError(f"{Path(args[0]).name} exited with {proc.returncode}: {last_line(log)}")
            try:
                get(health, timeout=2)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > end:
                    raise SetupError(f"{health} did not answer within {timeout:.0f} s") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def child_env(**extra: str) -> dict[str, str]:
    """This environment without ``Y2S_*`` (the benchmark passes flags) and with gevent's monkey
    patching allowed; the repository importable."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("Y2S_") and k != "LOCUST_SKIP_MONKEY_PATCH"
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env | extra


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise SetupError("nginx is not installed: apt-get install nginx (scripts/bench does it as root)")
    return found


@contextmanager
def nginx(work: Path) -> Iterator[str]:
    """Debian's nginx serving ``/hello.txt`` (and ``/healthz``, the harness's preflight) on a free port."""
    prefix, port = work / "nginx", free_port()
    (prefix / "www").mkdir(parents=True)
    (prefix / "www" / "hello.txt").write_text("hello, world\n")
    (prefix / "www" / "healthz").write_text("ok\n")
    for path in (work, prefix, prefix / "www"):  # workers run as nobody when started by root
        path.chmod(0o755)
    for path in (prefix / "www" / "hello.txt", prefix / "www" / "healthz"):
        path.chmod(0o644)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
    base = f"http://127.0.0.1:{port}"
    args = [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    with started(args, work / "nginx.log", f"{base}/hello.txt"):
        yield base


def read_csv_total(prefix: Path) -> tuple[float, int, int, float, float]:
    """Locust's aggregated row: req/s, requests, failures, p95 and p99 (ms)."""
    path = Path(f"{prefix}_stats.csv")
    try:
        with path.open() as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise SetupError(f"Locust wrote no {path.name}: {exc.strerror}") from None
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return (
        float(total["Requests/s"]),
        int(total["Request Count"]),
        int(total["Failure Count"]),
        float(total["95%"]),
        float(total["99%"]),
    )


def locust(
    files: str,
    base: str,
    flags: Sequence[str],
    log: Path,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
) -> int:
    """Run ``locust --headless`` to its end; its exit code (a setup error past ``timeout``)."""
    args = [sys.executable, "-m", "locust", "-f", files, "--headless", "-H", base, "--only-summary", *flags]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env or child_env(),
            start_new_session=True,
        )
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: Locust and its --processes children
            proc.wait()
            raise SetupError(f"locust did not finish within {timeout:.0f} s: {last_line(log)}") from None


@dataclass(frozen=True)
class Bench:
    """Where the static runs go: nginx's URL, the locustfiles, a work directory; their length and users."""

    base: str
    files: Path
    work: Path
    seconds: int
    users: int


def one_run(bench: Bench, kind: str, n: int, processes: int) -> Locust:
    """A plain or harness run of the static user."""
    run_dir = bench.work / f"{kind}-{processes}p-{n}"
    run_dir.mkdir()
    users, seconds = str(bench.users), f"{bench.seconds}s"
    flags = ["-u", users, "-r", users, "-t", seconds, "--csv", str(run_dir / "locust")]
    flags += ["--loglevel", "WARNING"]
    if processes > 1:
        flags += ["--processes", str(processes)]
    env = child_env()
    if kind == "harness":
        samples = run_dir / "samples"
        samples.mkdir()
        flags += ["--results-dir", str(run_dir), "--metrics-port", str(free_port())]
        env = child_env(BENCH_SAMPLES_DIR=str(samples))
    log = run_dir / "locust.log"
    code = locust(
        str(bench.files / f"{kind}.py"), bench.base, flags, log, timeout=bench.seconds + 90, env=env
    )
    if code not in (0, 1):  # 1: a gate failed (or, for plain Locust, a request did): reported below
        raise SetupError(f"{kind} locust exited with {code}: {last_line(run_dir / 'locust.log')}")
    rps, requests, failures, p95, p99 = read_csv_total(run_dir / "locust")
    found = Locust(rps, requests, failures, p95, p99)
    if kind == "harness":
        found.summary = json.loads((run_dir / "summary.json").read_text())
        parts = [np.fromfile(p, dtype=np.float64) for p in sorted((run_dir / "samples").glob("*.bin"))]
        found.exact = np.concatenate(parts) if parts else np.array([])
    return found


def write_locustfiles(work: Path) -> Path:
    files = work / "locustfiles"
    files.mkdir()
    (files / "plain.py").write_text(LOCUSTFILE.format(what="plain Locust", extra=""))
    (files / "harness.py").write_text(
        LOCUSTFILE.format(what="with the harness and an exact-sample recorder", extra=RECORDER)
    )
    return files


def error(ours: float, exact: float) -> float:
    return abs(ours - exact) / exact if exact else abs(ours)


def harness(rounds: int, seconds: int, users: int) -> int:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        base = stack.enter_context(nginx(work))
        bench = Bench(base, write_locustfiles(work), work, seconds, users)
        print(f"nginx on {base}; {rounds} interleaved rounds of {seconds} s, {users} users", flush=True)
        runs: dict[tuple[str, int], list[Locust]] = {}
        for processes in (1, 2):
            for r in range(rounds):
                order = ("plain", "harness") if r % 2 == 0 else ("harness", "plain")
                for kind in order:
                    run = one_run(bench, kind, r, processes)
                    runs.setdefault((kind, processes), []).append(run)
                    print(
                        f"  {processes} process(es), round {r + 1}: {kind:8} {run.rps:8.0f} req/s", flush=True
                    )
        return report(runs)


def report(runs: dict[tuple[str, int], list[Locust]]) -> int:
    checks: list[tuple[bool, str]] = []
    print(f"\n{'processes':>9} {'plain req/s':>12} {'harness req/s':>14} {'overhead':>9}")
    for processes in (1, 2):
        plain, ours = runs[("plain", processes)], runs[("harness", processes)]
        ratio = statistics.median(h.rps / p.rps for p, h in zip(plain, ours, strict=True))
        p_rps, h_rps = statistics.median(r.rps for r in plain), statistics.median(r.rps for r in ours)
        print(f"{processes:9d} {p_rps:12.0f} {h_rps:14.0f} {1 - ratio:9.1%}")
        checks.append(
            (
                1 - ratio <= OVERHEAD_TARGET,
                f"harness overhead {1 - ratio:.1%} <= 5% ({processes} process(es))",
            )
        )
    print(f"\n{'run':>14} {'samples':>8} {'summary':>8} {'exact p95':>10} {'ours':>8} {'Locust':>8}"
          f" {'exact p99':>10} {'ours':>8} {'Locust':>8}")  # fmt: skip
    worst, locust_errors = 0.0, []
    for processes in (1, 2):
        for n, run in enumerate(runs[("harness", processes)]):
            assert run.summary is not None and run.exact is not None
            if run.exact.size == 0:
                raise SetupError("the harness runs recorded no samples")
            exact95, exact99 = (float(v) for v in np.percentile(run.exact, [95, 99], method="linear"))
            ours95, ours99 = float(run.summary["p95"]), float(run.summary["p99"])  # type: ignore[arg-type]
            worst = max(worst, error(ours95, exact95), error(ours99, exact99))
            locust_errors += [error(run.p95, exact95), error(run.p99, exact99)]
            print(
                f"{f'{processes}p round {n + 1}':>14} {run.exact.size:8d} {run.summary['total']!s:>8} "
                f"{exact95:10.3f} {ours95:8.3f} {run.p95:8.0f} {exact99:10.3f} {ours99:8.3f} {run.p99:8.0f}"
            )
    print(
        f"percentile error against the exact values: ours at most {worst:.3%}; Locust's buckets median "
        f"{statistics.median(locust_errors):.1%}, at most {max(locust_errors):.1%}"
    )
    checks.append((worst <= ACCURACY_TARGET, f"our p95 and p99 within {worst:.3%} <= 1% of the exact values"))
    failed = sum(r.failures for rs in runs.values() for r in rs)
    checks.append((failed == 0, f"{failed} failed requests against nginx"))
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for ok, _ in checks) else 1


# --- --service: the step shape against the reference service -----------------------------------------


@dataclass(frozen=True)
class Steps:
    start: int
    step: int
    seconds: int
    max: int
    window: int
    processes: int


def channel_id(seed: int, size: int) -> str:
    sys.path.insert(0, str(ROOT))
    from youtube2sheets.simulator import Catalogue  # noqa: PLC0415  (after the path is set)

    return next(c.id for c in Catalogue(seed).channels if c.videos == size)


def min_rps() -> float:
    sys.path.insert(0, str(ROOT))
    from alerting import load_thresholds  # noqa: PLC0415

    return float(load_thresholds().number("loadtest", "min_rps"))


def service(steps: Steps) -> int:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        sim, port = free_port(), free_port()
        simulator = f"http://127.0.0.1:{sim}"
        sim_args = [sys.executable, "-m", "youtube2sheets.simulator", "--host", "127.0.0.1",
                    "--port", str(sim), "--seed", str(SEED), "--daily-quota", "1000000000",
                    "--latency-median-ms", "1"]  # fmt: skip
        stack.enter_context(started(sim_args, work / "sim.log", f"{simulator}/healthz"))
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "youtube2sheets", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "2", "--state-dir", str(work / "state"), "--api-key", "bench",
                "--daily-quota", "1000000000", "--log-level", "warning",
                "--youtube-url", f"{simulator}/youtube/v3"]  # fmt: skip
        stack.enter_context(started(args, work / "service.log", f"{base}/healthz"))
        count = (steps.max - steps.start + steps.step - 1) // steps.step + 1
        print(
            f"service (2 workers) on {base}; step shape: {steps.start} users + {steps.step} every "
            f"{steps.seconds} s up to {steps.max} ({count} steps), {steps.window} s windows, "
            f"{steps.processes} Locust process(es)",
            flush=True,
        )
        results = work / "results"
        flags = ["--y2s-simulator-url", simulator, "--results-dir", str(results), "--metrics-port", "0",
                 "--window-seconds", str(steps.window), "--step-start-users", str(steps.start),
                 "--step-users", str(steps.step), "--step-seconds", str(steps.seconds),
                 "--step-max-users", str(steps.max), "--step-spawn-rate", str(max(steps.step, steps.start)),
                 "--csv", str(results / "locust"), "--loglevel", "INFO"]  # fmt: skip
        if steps.processes > 1:
            flags += ["--processes", str(steps.processes)]
        files = "loadtests/locustfile.py,loadtests/shapes/step.py"
        log = work / "locust.log"
        began = time.monotonic()
        code = locust(files, base, flags, log, timeout=count * steps.seconds + 180)
        took = time.monotonic() - began
        try:
            summary = json.loads((results / "summary.json").read_text())
        except OSError:
            raise SetupError(
                f"the step run (exit code {code}) wrote no summary.json: {last_line(log)}"
            ) from None
        for line in log.read_text(errors="replace").splitlines():  # the climb, window by window
            if "loadtests: window " in line or "StepLoadShape:" in line:
                print("  " + line.split("/INFO/", 1)[-1].split("/WARNING/", 1)[-1])
        return service_report(summary, took)


def service_report(summary: dict[str, object], took: float) -> int:
    point = summary.get("breaking_point")
    print(
        f"\nrun: {took:.0f} s, {summary['total']} requests, {summary['rps']:.0f} req/s overall, "
        f"{summary['windows']} windows ({summary['failed_windows']} failed), exit code {summary['exit_code']}"
    )
    floor = min_rps()
    checks: list[tuple[bool, str]] = []
    if isinstance(point, dict):
        users, rps, since = point["users"], point["rps"], point["window_start"]
        print(f"breaking point: {users} users, {rps:.0f} req/s (the step from {since})")
        checks.append((True, "the step shape found a breaking point"))
        checks.append(
            (
                point["rps"] > floor,
                f"the service met the seed gates at {point['rps']:.0f} > {floor:.0f} req/s",
            )
        )
    else:
        print("no breaking point: the climb held its last step (raise --max-users) or no step passed")
        checks.append((False, "the step shape found a breaking point"))
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for ok, _ in checks) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 3 s; short steps")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="length of each Locust run")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--service", action="store_true", help="the step shape against the service instead")
    parser.add_argument("--start-users", type=int, default=None, help="first step (default 200)")
    parser.add_argument(
        "--step-users", type=int, default=None, help="users added per step (default 200, quick 400)"
    )
    parser.add_argument("--step-seconds", type=int, default=None, help="step length (default 30, quick 10)")
    parser.add_argument("--max-users", type=int, default=None, help="last step (default 5000, quick 4000)")
    parser.add_argument("--window-seconds", type=int, default=None, help="gate windows (default 10, quick 3)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes in --service mode")
    args = parser.parse_args(argv)
    try:
        if args.service:
            q = args.quick
            steps = Steps(
                args.start_users or 200,
                args.step_users or (400 if q else 200),
                args.step_seconds or (10 if q else 30),
                args.max_users or (4000 if q else 5000),
                args.window_seconds or (3 if q else 10),
                args.processes,
            )
            return service(steps)
        rounds, seconds = (2, 3) if args.quick else (args.rounds, args.seconds)
        return harness(rounds, seconds, args.users)
    except SetupError as exc:
        print(f"loadtest_harness: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
