"""The service under wrk: cached video and rows endpoints, instrumentation on and off, beside hello-worlds.

What is measured, and how
-------------------------
The simulator and two copies of the service (``--workers 2`` each, one with instrumentation and one
``--no-instrumentation``, separate state directories) start on 127.0.0.1; each syncs the simulator's
237-video channel into the sheet ``bench``. Then ``wrk`` (Debian's, on the same 2-core machine)
drives, for ``--seconds`` each, with ``--connections`` connections on 2 threads:

- ``GET /api/videos/{id}``, rotating over the sheet's video ids (warmed, so every request is a hit of
  the metered cache), on and off;
- ``GET /api/sheets/bench/rows?page=P&per_page=50``, rotating over the pages, on and off;
- the anchors: a Starlette hello-world (``benchmarks/_hello_apps.py``) under uvicorn with 2 workers,
  bare, with our ``PrometheusMiddleware``, and with the usual prometheus_client middleware.

Each configuration runs ``--rounds`` times. The instrumented and bare runs of one endpoint go back to
back, in alternating order, and the instrumentation's cost is one minus the median of their per-round
throughput ratios, so that drift in the machine's speed cancels out; medians of req/s and of wrk's
p50/p95/p99 latencies are printed too. Targets:
cached videos >= 5,000 req/s with p99 < 20 ms (instrumented); instrumentation costs <= 10 % of that
endpoint's throughput (on/off >= 0.90); rows >= 1,000 req/s with p95 < 50 ms (instrumented).
Exit status 0 when every target passes, 1 otherwise, 2 on a setup error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
WRK = shutil.which("wrk")
SIZE = 237  # the simulator's 237-video channel: five pages of 50 rows
LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


class SetupError(Exception):
    """The benchmark could not start; printed as one line, exit status 2."""


@dataclass
class Run:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_seconds: float = 0.0  # the server's processes (parent and workers) during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6


@dataclass
class Target:
    name: str
    base: str
    paths: list[str]
    runs: list[Run] = field(default_factory=list)
    pid: int = 0  # the server's main process

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


def post_json(url: str, payload: dict[str, str], timeout: float = 120.0) -> dict[str, object]:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise SetupError(f"{proc.args!r} exited with {proc.returncode}: {tail[0]}")
        try:
            get(url, timeout=2)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise SetupError(f"{url} did not answer within {timeout:.0f} s")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (uvicorn's workers)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@contextmanager
def started(args: Sequence[str], log: Path, health: str, env: dict[str, str] | None = None) -> Iterator[int]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(args), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})}
        )
    try:
        wait_until_up(health, proc, log)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def channel_id(seed: int, size: int) -> str:
    sys.path.insert(0, str(ROOT))
    from youtube2sheets.simulator import Catalogue  # noqa: PLC0415  (after the path is set)

    return next(c.id for c in Catalogue(seed).channels if c.videos == size)


def wrk(target: Target, seconds: int, connections: int, workdir: Path) -> Run:
    script = workdir / f"{target.name.replace(' ', '_')}.lua"
    script.write_text(LUA % ", ".join(json.dumps(p) for p in target.paths))
    cpu_before = tree_cpu_seconds(target.pid)
    out = subprocess.run(
        [
            WRK,
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            target.base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SetupError(f"wrk failed on {target.name}: {(out.stderr or out.stdout).strip()[:200]}")
    requests, duration_us, errors, p50, p95, p99 = (int(v) for v in line.split()[1:])
    cpu = tree_cpu_seconds(target.pid) - cpu_before
    return Run(requests, duration_us / 1e6, errors, p50 / 1000, p95 / 1000, p99 / 1000, cpu)


def service(port: int, sim_port: int, state: Path, instrumented: bool) -> list[str]:
    args = [
        sys.executable, "-m", "youtube2sheets", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "2", "--state-dir", str(state), "--api-key", "bench", "--log-level", "warning",
        "--youtube-url", f"http://127.0.0.1:{sim_port}/youtube/v3",
    ]  # fmt: skip
    return args if instrumented else [*args, "--no-instrumentation"]


def hello(port: int, factory: str) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", f"_hello_apps:{factory}", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "2", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--log-level", "warning", "--app-dir", str(ROOT / "benchmarks"),
    ]  # fmt: skip


def prepare(base: str, channel: str) -> list[str]:
    """Sync the channel into ``bench``; the sheet's video ids."""
    post_json(f"{base}/api/sync", {"channel_id": channel, "sheet": "bench"})
    ids: list[str] = []
    for page in range(1, 6):
        body = json.loads(get(f"{base}/api/sheets/bench/rows?page={page}&per_page=50"))
        ids += [row["video_id"] for row in body["rows"]]
    for video_id in ids:  # warm both workers' caches: each key misses once per worker at most
        for _ in range(4):
            get(f"{base}/api/videos/{video_id}")
    return ids


def measure(groups: list[list[Target]], rounds: int, seconds: int, connections: int, workdir: Path) -> None:
    """Warm every target up, then ``rounds`` rounds; within a group (on and off of one endpoint) the
    targets run back to back, in an order that alternates, so that their ratio per round is fair."""
    for target in (t for group in groups for t in group):
        wrk(target, 2, connections, workdir)
    for r in range(rounds):
        for group in groups:
            for target in group if r % 2 == 0 else group[::-1]:
                target.runs.append(wrk(target, seconds, connections, workdir))
                print(f"  round {r + 1}: {target.name:34} {target.runs[-1].rps:9.0f} req/s", flush=True)


def paired_cost(on: Target, off: Target) -> float:
    """1 - the median over rounds of on/off throughput (each round's two runs were back to back)."""
    return 1 - statistics.median(a.rps / b.rps for a, b in zip(on.runs, off.runs, strict=True))


def report(targets: dict[str, Target]) -> int:
    head = f"{'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}"
    print(f"\n{'target':34} {head}")
    for t in targets.values():
        errors = sum(r.errors for r in t.runs)
        print(
            f"{t.name:34} {t.median('rps'):9.0f} {t.median('p50_ms'):8.2f} {t.median('p95_ms'):8.2f} "
            f"{t.median('p99_ms'):8.2f} {t.median('cpu_us_per_request'):11.1f} {errors:7d}"
        )
    v_on, v_off = targets["videos, instrumented"], targets["videos, no instrumentation"]
    r_on, r_off = targets["rows, instrumented"], targets["rows, no instrumentation"]
    h_bare, h_ours, h_client = (targets[f"hello, {n}"] for n in ("bare", "ours", "prometheus_client"))
    cost, rows_cost = paired_cost(v_on, v_off), paired_cost(r_on, r_off)
    print(f"\ninstrumentation cost (paired rounds): videos {cost:.1%}, rows {rows_cost:.1%}")
    cpu_on, cpu_off = v_on.median("cpu_us_per_request"), v_off.median("cpu_us_per_request")
    print(
        f"server CPU per cached video request: {cpu_on:.1f} us instrumented, {cpu_off:.1f} us bare "
        f"(+{cpu_on - cpu_off:.1f} us, {cpu_on / cpu_off - 1:.1%})"
    )
    print(
        f"hello-world middleware cost: ours {paired_cost(h_ours, h_bare):.1%}, "
        f"prometheus_client {paired_cost(h_client, h_bare):.1%}; server CPU per request: "
        + ", ".join(
            f"{t.name[7:]} {t.median('cpu_us_per_request'):.1f} us" for t in (h_bare, h_ours, h_client)
        )
    )
    print(f"videos (instrumented) / bare hello-world: {v_on.median('rps') / h_bare.median('rps'):.2f}x")
    checks = [
        (v_on.median("rps") >= 5000, f"cached videos {v_on.median('rps'):.0f} req/s >= 5000"),
        (v_on.median("p99_ms") < 20, f"cached videos p99 {v_on.median('p99_ms'):.2f} ms < 20 ms"),
        (cost <= 0.10, f"instrumentation costs {cost:.1%} <= 10% of the videos throughput"),
        (r_on.median("rps") >= 1000, f"rows {r_on.median('rps'):.0f} req/s >= 1000"),
        (r_on.median("p95_ms") < 50, f"rows p95 {r_on.median('p95_ms'):.2f} ms < 50 ms"),
        (all(r.errors == 0 for t in (v_on, v_off, r_on, r_off) for r in t.runs), "no errors on the service"),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for ok, _ in checks) else 1


def run(rounds: int, seconds: int, connections: int) -> int:
    if WRK is None:
        raise SetupError("wrk is not installed: apt-get install wrk (scripts/bench does it as root)")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        sim, on, off = free_port(), free_port(), free_port()
        print(f"starting the simulator and two services (2 workers each) in {work}", flush=True)
        sim_args = [
            sys.executable,
            "-m",
            "youtube2sheets.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(sim),
        ]
        sim_args += ["--seed", str(SEED), "--daily-quota", "1000000", "--latency-median-ms", "1"]
        stack.enter_context(started(sim_args, work / "sim.log", f"http://127.0.0.1:{sim}/healthz"))
        channel = channel_id(SEED, SIZE)
        targets: dict[str, Target] = {}
        for name, port, instrumented in (("instrumented", on, True), ("no instrumentation", off, False)):
            state = work / name.replace(" ", "-")
            args = service(port, sim, state, instrumented)
            pid = stack.enter_context(
                started(args, work / f"{state.name}.log", f"http://127.0.0.1:{port}/healthz")
            )
            base = f"http://127.0.0.1:{port}"
            ids = prepare(base, channel)
            videos = [f"/api/videos/{v}" for v in ids]
            targets[f"videos, {name}"] = Target(f"videos, {name}", base, videos, pid=pid)
            pages = [f"/api/sheets/bench/rows?page={p}&per_page=50" for p in range(1, 5)]
            targets[f"rows, {name}"] = Target(f"rows, {name}", base, pages, pid=pid)
        for factory in ("bare", "ours", "prometheus_client"):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = work / f"hello-{factory}.log"
            pid = stack.enter_context(started(hello(port, factory), log, f"{base}/hello/x"))
            targets[f"hello, {factory}"] = Target(f"hello, {factory}", base, ["/hello/world"], pid=pid)
        print(
            f"wrk: {rounds} interleaved rounds of {seconds} s, {connections} connections, 2 threads",
            flush=True,
        )
        groups = [
            [targets["videos, instrumented"], targets["videos, no instrumentation"]],
            [targets["rows, instrumented"], targets["rows, no instrumentation"]],
            [targets[f"hello, {n}"] for n in ("bare", "ours", "prometheus_client")],
        ]
        measure(groups, rounds, seconds, connections, work)
        return report(targets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 3 s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    rounds, seconds = (2, 3) if args.quick else (args.rounds, args.seconds)
    try:
        return run(rounds, seconds, args.connections)
    except SetupError as exc:
        print(f"service_wrk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
