"""The capacity report over 30 days of 15 s samples for 10 instances, side by side with a naive planner.

What is measured, and how
-------------------------
1. History: 30 days x 15 s (172,800 samples a series, the last one at a fixed end, 2026-11-30T00:00Z)
   of the series ``python -m capacity`` reads, synthesised with seeded ``random.Random`` as
   OpenMetrics, streamed to a file, and backfilled with the real ``promtool tsdb create-blocks-from
   openmetrics``. Hosts ``host-00:9100`` .. ``host-09:9100`` (job ``exporter``) have CPU, memory, disk
   (``mountpoint="/"``) and network utilisation, each a daily sine plus noise at its own level per
   host; ``app-00:8000`` .. ``app-09:8000`` (job ``youtube2sheets``) have ``up`` 1; the job has its
   request rate (1000 -> 2000 req/s over the 30 days, daily sine, noise), its p95 latency (0.2 - 2.5 s,
   over 2 s in the busiest hours of some days), its error ratio (about 0.0002) and the YouTube quota
   use (about 0.08 units/s, growing) and limit (10,000); and what ``capacity.rules.yml`` records from
   them every 15 s (``alerting/prometheus.yml``'s evaluation interval), the request rate per instance
   while p95 and errors meet their SLOs (absent otherwise). 56 series, 9.6 M samples. The blocks are
   cached in ``~/.cache/y2s-benchmarks/capacity-<key>/`` (key: a hash of the generator's parameters
   and ``GENERATOR_VERSION``), so only the first run (or ``--rebuild``) pays for the backfill. promtool
   is asked for blocks of up to 31 days, which it makes 486 h long: the size a Prometheus with this
   retention compacts to, so the server below finds nothing to compact while it is timed.
2. The real Prometheus starts on a free 127.0.0.1 port, on a fresh copy of the cached blocks, with no
   scrape jobs and no rules and ``--storage.tsdb.retention.time=3650d`` (nothing deleted as too old).
   Once ``/-/ready`` answers, it must hold every backfilled sample of every metric in the window.
3. Ours, as users run it: ``python -m capacity --prometheus URL --window 30d --end END --workers 2
   --format json`` as a subprocess, wall clock from start to exit, after one warm-up run. Its exit
   status must be 0; its headline figures are printed from the JSON.
4. The anchor: the naive planner that pulls every raw sample to the client and computes the same
   per-instance mean, p95 and peak in Python: for each of the 4 resources x 10 hosts, ``query_range``
   at step 15 s over the 30 days, in chunks of 11,000 points (Prometheus's cap per series). Each round
   times ours and the anchor once, who goes first alternating. The p95 of every host and resource the
   report has must agree with the anchor's within 2 % (both are over every raw sample; the report's
   come from ``quantile_over_time``).

Target (issue 9): the report runs in < 5 s (median over the rounds) against 30 days of 15 s samples
for 10 instances.
Usage: ``scripts/bench capacity [--quick] [--rounds N] [--rebuild]``; ``--quick`` makes 2 rounds.
Exit status: 0 when the target passes, 1 when it fails (or the report fails, or the p95s disagree),
2 on a setup error (one line on stderr), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
CACHE_ROOT = Path.home() / ".cache" / "y2s-benchmarks"
GENERATOR_VERSION = 2  # bump whenever the generated history changes, so that old caches are not reused
TARGET_SECONDS = 5.0
AGREEMENT = 0.02  # relative: report p95 against the naive planner's
MAX_POINTS = 11_000  # Prometheus's cap on points per series in one range query
MAX_BLOCK = "744h"  # promtool's largest block: 31 d, Prometheus's own cap with a long retention
DAY = 86400
READY_TIMEOUT = 60.0  # seconds for Prometheus to open the blocks and answer /-/ready
HTTP_TIMEOUT = 60.0
REPORT_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
BUILD_TIMEOUT = 3600.0  # promtool on 9.5 M samples


class SetupError(Exception):
    """The benchmark could not run (binary missing, Prometheus did not start): one line, exit 2."""


class ReportFailed(Exception):
    """``python -m capacity`` exited non-zero or printed no JSON: counts as a missed target, exit 1."""


# --- the history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What the generator makes; every field goes into the cache key."""

    end: int = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())
    days: int = 30
    step: int = 15
    hosts: int = 10
    seed: int = 9  # issue 9

    @property
    def samples(self) -> int:
        return self.days * DAY // self.step

    @property
    def start(self) -> int:
        """The window's start; the first sample is one step after it, the last at ``end``."""
        return self.end - self.days * DAY

    def key(self) -> str:
        doc = asdict(self) | {"generator": GENERATOR_VERSION, "max_block": MAX_BLOCK}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]

    def host(self, i: int) -> str:
        return f"host-{i:02d}:9100"


# Per-host utilisation: metric, extra labels, level of host 0, added per host, daily swing, noise.
RESOURCES: dict[str, tuple[str, str, float, float, float, float]] = {
    "cpu": ("instance:node_cpu_utilisation:rate5m", "", 0.25, 0.025, 0.15, 0.05),
    "memory": ("instance:node_memory_utilisation:ratio", "", 0.30, 0.015, 0.04, 0.02),
    "disk": ("instance:node_filesystem_utilisation:ratio", ',mountpoint="/"', 0.40, 0.03, 0.01, 0.005),
    "network": ("instance:node_network_utilisation:rate5m", "", 0.10, 0.03, 0.10, 0.04),
}
JOB = 'job="youtube2sheets"'
API = f'api="youtube",{JOB}'
REQUESTS = f"job:http_requests:rate5m{{{JOB}}}"
LATENCY = f'job:http_request_duration_seconds:histogram_quantile_rate5m{{{JOB},quantile="0.95"}}'
ERRORS = f"job:http_request_errors:ratio_rate5m{{{JOB}}}"
WITHIN_SLO = f"job:http_requests_per_instance_within_slo:rate5m{{{JOB}}}"
LATENCY_SLO, ERROR_SLO = 2.0, 0.001  # alerting/thresholds.yml: service.latency_p95_seconds, .error_ratio
Values = Callable[[random.Random], Iterator[float | None]]  # None: no sample at that step


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return low if value < low else high if value > high else value


class Generator:
    """Streams the history as OpenMetrics, one series after another, each in time order."""

    def __init__(self, history: History) -> None:
        self.h = history
        per_day = DAY // history.step
        # the daily cycle, peaking at 14:00 UTC: one value per step of a day, shared by every series
        daily = [math.sin(2 * math.pi * (k * history.step - 8 * 3600) / DAY) for k in range(per_day)]
        times = range(history.start + history.step, history.end + 1, history.step)
        self.cycle = [daily[(t % DAY) // history.step] for t in times]
        self.suffixes = [f" {t}\n" for t in times]
        self.days = [(t - history.start) / DAY for t in times]  # 0 < d <= days
        hot = random.Random(f"{history.seed}/hot-days")
        self.hot_days = set(hot.sample(range(history.days), history.days // 3))
        self.samples: dict[str, int] = {}  # metric name -> samples written, all its series

    def rng(self, name: str) -> random.Random:
        """Each series' own generator: the same values whatever else the file holds."""
        return random.Random(f"{self.h.seed}/{name}")

    def write(self, out: IO[str]) -> None:
        for name, first, values in self.series():
            family = name.split("{")[0]
            if first:
                out.write(f"# TYPE {family} gauge\n")
            lines = [
                f"{name} {v:.6g}{s}"
                for v, s in zip(values(self.rng(name)), self.suffixes, strict=True)
                if v is not None
            ]
            out.writelines(lines)
            self.samples[family] = self.samples.get(family, 0) + len(lines)
        out.write("# EOF\n")

    @property
    def lines(self) -> int:
        return sum(self.samples.values())

    def series(self) -> Iterator[tuple[str, bool, Values]]:
        """``(name{labels}, whether it is its family's first series, values)`` in file order."""
        for metric, extra, level, per_host, swing, noise in RESOURCES.values():
            for i in range(self.h.hosts):
                yield (
                    f'{metric}{{instance="{self.h.host(i)}",job="exporter"{extra}}}',
                    i == 0,
                    self.resource(level + per_host * i, swing, noise),
                )
        for i in range(self.h.hosts):
            yield f'up{{instance="app-{i:02d}:8000",{JOB}}}', i == 0, self.constant(1.0)
        yield REQUESTS, True, self.requests
        yield LATENCY, True, self.latency
        yield ERRORS, True, self.errors
        yield WITHIN_SLO, True, self.within_slo
        yield f"job_api:api_quota_units_used:rate1h{{{API}}}", True, self.quota
        yield f"api_quota_limit_units{{{API}}}", True, self.constant(10000.0)

    def resource(self, level: float, swing: float, noise: float) -> Values:
        def values(rng: random.Random) -> Iterator[float]:
            u = rng.random
            return (clamp(level + swing * c + noise * (2 * u() - 1)) for c in self.cycle)

        return values

    def constant(self, value: float) -> Values:
        def values(rng: random.Random) -> Iterator[float]:
            return (value for _ in self.cycle)

        return values

    def requests(self, rng: random.Random) -> Iterator[float]:
        """1000 -> 2000 req/s linearly over the window, +-25 % a day, +-3 % noise."""
        growth = 1000.0 / self.h.days
        u = rng.random
        for c, d in zip(self.cycle, self.days, strict=True):
            yield (1000.0 + growth * d) * (1 + 0.25 * c) * (1 + 0.03 * (2 * u() - 1))

    def latency(self, rng: random.Random) -> Iterator[float]:
        """0.25 - 1.7 s with the daily load; 2.1 - 2.5 s in the busiest hours of the hot days."""
        u = rng.random
        for c, d in zip(self.cycle, self.days, strict=True):
            if c > 0.9 and int(d) in self.hot_days:
                yield 2.1 + 0.4 * u()
            else:
                yield clamp(0.25 + 1.4 * ((c + 1) / 2) ** 2 + 0.05 * (2 * u() - 1), 0.2, 2.5)

    def errors(self, rng: random.Random) -> Iterator[float]:
        u = rng.random
        return (0.0002 * (1 + 0.5 * (2 * u() - 1)) for _ in self.cycle)

    def within_slo(self, _: random.Random) -> Iterator[float | None]:
        """What capacity.rules.yml records, evaluated every 15 s as alerting/prometheus.yml has it: the
        request rate per ``up`` instance, only while p95 and the error ratio meet their SLOs."""
        both = zip(self.latency(self.rng(LATENCY)), self.errors(self.rng(ERRORS)), strict=True)
        for rps, (p95, errors) in zip(self.requests(self.rng(REQUESTS)), both, strict=True):
            yield rps / self.h.hosts if p95 < LATENCY_SLO and errors < ERROR_SLO else None

    def quota(self, rng: random.Random) -> Iterator[float]:
        """About 0.08 units/s (6,900 a day) growing by 40 % over the window, +-20 % a day."""
        u = rng.random
        for c, d in zip(self.cycle, self.days, strict=True):
            yield 0.08 * (1 + 0.4 * d / self.h.days) * (1 + 0.2 * c) + 0.004 * (2 * u() - 1)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SetupError(
            f"{name} not found on PATH: install Debian's prometheus (scripts/bench capacity does)"
        )
    return path


def build(history: History, target: Path) -> tuple[float, float, int]:
    """Generate and backfill into ``target`` (renamed into place when complete); seconds of each, lines."""
    target.parent.mkdir(parents=True, exist_ok=True)
    promtool = tool("promtool")
    work = Path(tempfile.mkdtemp(prefix=f"{target.name}.build-", dir=target.parent))
    try:
        source, blocks = work / "history.om", work / "blocks"
        say(f"generating {history.samples:,} samples a series into {source} ...")
        started = time.monotonic()
        gen = Generator(history)
        with source.open("w", buffering=1 << 20) as out:
            gen.write(out)
        generated = time.monotonic() - started
        size = source.stat().st_size / 2**20
        say(f"  {gen.lines:,} sample lines ({size:,.0f} MiB) in {generated:.1f} s; promtool backfill ...")
        started = time.monotonic()
        argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={MAX_BLOCK}"]
        try:
            proc = subprocess.run(
                [*argv, "--quiet", str(source), str(blocks)],
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SetupError(f"promtool did not finish the backfill within {BUILD_TIMEOUT:.0f} s") from None
        if proc.returncode != 0:
            raise SetupError(f"promtool backfill exited {proc.returncode}: {last_line(proc.stderr)}")
        backfilled = time.monotonic() - started
        doc = asdict(history) | {"generator": GENERATOR_VERSION, "lines": gen.lines, "samples": gen.samples}
        doc |= {"generate_seconds": round(generated, 1), "backfill_seconds": round(backfilled, 1)}
        (blocks / "history.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        old = work / "old"
        if target.exists():
            target.rename(old)  # --rebuild: the old cache goes only once the new one is complete
        blocks.rename(target)
        return generated, backfilled, gen.lines
    finally:
        shutil.rmtree(work, ignore_errors=True)


def block_dirs(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if (p / "meta.json").is_file()) if cache.is_dir() else []


# --- Prometheus --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def get(url: str, path: str, params: dict[str, str]) -> Any:
    """The ``data`` of one Prometheus API answer; SetupError with Prometheus's reason on failure."""
    address = f"{url}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(address, timeout=HTTP_TIMEOUT) as resp:
            doc = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise SetupError(
            f"Prometheus answered {exc.code} to {params.get('query')}: {exc.read()[:200]!r}"
        ) from exc
    except (OSError, ValueError) as exc:
        raise SetupError(f"query {params.get('query')} to {url} failed: {exc}") from exc
    return doc["data"]


def instant(url: str, expr: str, at: int) -> list[tuple[dict[str, str], float]]:
    data = get(url, "/api/v1/query", {"query": expr, "time": str(at)})
    return [(r["metric"], float(r["value"][1])) for r in data["result"]]


@contextmanager
def prometheus(blocks: list[Path], workdir: Path) -> Iterator[str]:
    """The real Prometheus on a fresh copy of ``blocks``; its base URL, once ready. Stopped on exit."""
    tsdb = workdir / "tsdb"
    tsdb.mkdir()
    for block in blocks:
        shutil.copytree(block, tsdb / block.name)
    config = workdir / "prometheus.yml"
    config.write_text(
        "# no scrape jobs, no rules: only the backfilled blocks\nglobal:\n  scrape_interval: 1m\n"
    )
    port = free_port()
    argv = [
        tool("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        "--storage.tsdb.retention.time=3650d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log_path)
        yield url
    except KeyboardInterrupt:
        proc.kill()
        raise
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"prometheus exited {proc.returncode} at start: {last_line(log.read_text())}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SetupError(f"prometheus did not answer {url}/-/ready within {READY_TIMEOUT:.0f} s")


def check_loaded(url: str, history: History, samples: dict[str, int]) -> None:
    """Prometheus holds, over the window, every sample written of every metric: the blocks loaded."""
    for name, expected in samples.items():  # by name: count_over_time drops it
        found = instant(url, f"sum(count_over_time({name}[{history.days * DAY}s]))", history.end)
        got = int(found[0][1]) if found else 0
        if got != expected:
            raise SetupError(
                f"{name}: Prometheus holds {got:,} samples of the window, {expected:,} were backfilled "
                "(try --rebuild)"
            )


# --- ours and the anchor ----------------------------------------------------------------------------


def run_report(url: str, history: History) -> tuple[float, Any]:
    """``python -m capacity`` as a user runs it: wall seconds to its exit, and its JSON."""
    argv = [sys.executable, "-m", "capacity", "--prometheus", url, "--window", f"{history.days}d"]
    argv += ["--end", str(history.end), "--workers", "2", "--format", "json"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=REPORT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ReportFailed(f"python -m capacity did not finish within {REPORT_TIMEOUT:.0f} s") from None
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise ReportFailed(f"python -m capacity exited {proc.returncode}: {last_line(proc.stderr)}")
    try:
        return elapsed, json.loads(proc.stdout)
    except ValueError:
        raise ReportFailed(f"python -m capacity printed no JSON: {proc.stdout[:200]!r}") from None


def p95(ordered: list[float]) -> float:
    """Linear interpolation between closest ranks, as ``quantile_over_time`` computes it."""
    rank = 0.95 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def naive_planner(url: str, history: History) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Every raw sample of every host's resources pulled to the client; (mean, p95, peak) by both."""
    step = history.step
    first, last = history.start + step, history.end
    stats = {}
    for resource, (metric, *_) in RESOURCES.items():
        for i in range(history.hosts):
            host = history.host(i)
            values: list[float] = []
            for a in range(first, last + 1, MAX_POINTS * step):
                params = {"query": f'{metric}{{instance="{host}"}}', "step": str(step)}
                params |= {"start": str(a), "end": str(min(a + (MAX_POINTS - 1) * step, last))}
                for series in get(url, "/api/v1/query_range", params)["result"]:
                    values.extend(float(v) for _, v in series["values"])
            if len(values) != history.samples:
                raise SetupError(f"{metric} of {host}: {len(values):,} samples, expected {history.samples:,}")
            values.sort()
            stats[resource, host] = (sum(values) / len(values), p95(values), values[-1])
    return stats


def agreement(
    report: Any, naive: dict[tuple[str, str], tuple[float, float, float]]
) -> tuple[float, str, int]:
    """The worst relative p95 difference between the report and the naive planner, where, how many."""
    worst, where, compared = 0.0, "nothing compared", 0
    for resource, section in report.get("utilisation", {}).items():
        for key, st in section["instances"].items():
            theirs = naive.get((resource, key.split(" ")[0]))
            if theirs is None:
                continue
            diff = abs(st["p95"] - theirs[1]) / abs(theirs[1])
            compared += 1
            if diff >= worst:
                worst, where = diff, f"{resource} {key}: report {st['p95']:.6f}, naive {theirs[1]:.6f}"
    return worst, where, compared


# --- the run ----------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


def headline(report: Any) -> None:
    try:
        print_headline(report)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # the report's schema moved on
        raise ReportFailed(f"python -m capacity: its JSON lacks the headline figure {exc}") from None


def print_headline(report: Any) -> None:
    cap, req, rec, quota = (
        report["capacity"],
        report["requests"],
        report["recommendation"],
        report.get("quota"),
    )
    resources = ", ".join(sorted(report["utilisation"]))
    say(f"report: {report['instances']} instances; utilisation of {resources}")
    say(
        f"  requests now {req['now_rps']:,.0f} req/s, peak {req['peak_rps']:,.0f}, "
        f"trend {(req.get('trend') or {}).get('kind')}, forecast {req['forecast_rps']:,.0f} req/s"
    )
    say(
        f"  capacity {cap['per_instance']:,.1f} req/s per instance ({cap['source']}), "
        f"80 % level {cap['level_rps']:,.0f} req/s"
    )
    say(
        f"  recommendation: {rec['action']} ({rec['instances']} -> {rec['instances_needed']} instances, "
        f"{rec['workers']} -> {rec['workers_needed']} workers): {rec['reason']}"
    )
    if quota:
        say(f"  quota {quota['units_per_day']:,.0f} units/day, runs out {quota['runs_out']}")


def seconds_row(name: str, times: list[float]) -> str:
    return f"{name:<34} {statistics.median(times):8.2f} s {min(times):8.2f} s {max(times):8.2f} s"


def measure(url: str, history: History, rounds: int) -> int:
    say("warm-up: one report")
    _, report = run_report(url, history)
    headline(report)
    ours: list[float] = []
    naive: list[float] = []
    naive_stats: dict[tuple[str, str], tuple[float, float, float]] = {}
    for r in range(rounds):
        for which in ("ours", "naive") if r % 2 == 0 else ("naive", "ours"):
            if which == "ours":
                elapsed, report = run_report(url, history)
                ours.append(elapsed)
            else:
                started = time.perf_counter()
                naive_stats = naive_planner(url, history)
                naive.append(time.perf_counter() - started)
        say(f"round {r + 1}/{rounds}: ours {ours[-1]:.2f} s, naive {naive[-1]:.2f} s")
    try:
        worst, where, compared = agreement(report, naive_stats)
    except (KeyError, TypeError, AttributeError, ValueError, ZeroDivisionError) as exc:
        raise ReportFailed(f"python -m capacity: its utilisation JSON is not as expected: {exc!r}") from None
    agree = compared > 0 and worst <= AGREEMENT
    ratio = statistics.median(naive) / statistics.median(ours)
    passed = statistics.median(ours) < TARGET_SECONDS
    say("")
    say(f"{'':<34} {'median':>10} {'min':>10} {'max':>10}   ({rounds} rounds)")
    say(seconds_row("ours: python -m capacity", ours))
    say(seconds_row("anchor: naive raw pull + Python", naive))
    say(f"{'ratio naive / ours (medians)':<34} {ratio:8.1f}x")
    say(f"p95 agreement, {compared} host resources: worst {worst:.4%} ({where}): {'yes' if agree else 'NO'}")
    say(f"target: ours median < {TARGET_SECONDS:.0f} s: {'PASS' if passed else 'FAIL'}")
    return 0 if passed and agree else 1


def version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = (out.stdout + out.stderr).split()
    return words[2] if len(words) > 2 else "unknown"


def run(args: argparse.Namespace) -> int:
    history = History()
    load = os.getloadavg()[0]
    say(
        f"capacity: {os.cpu_count()} CPUs, load {load:.2f}, Python {platform.python_version()}, "
        f"Prometheus {version(tool('prometheus'))}"
    )
    cache = CACHE_ROOT / f"capacity-{history.key()}"
    if args.rebuild or not (cache / "history.json").is_file() or not block_dirs(cache):
        started = time.monotonic()
        generated, backfilled, lines = build(history, cache)
        say(
            f"built {cache} in {time.monotonic() - started:.0f} s "
            f"(generate {generated:.0f} s, promtool {backfilled:.0f} s, {lines:,} samples)"
        )
    else:
        say(f"cached history: {cache}")
    blocks = block_dirs(cache)
    samples = json.loads((cache / "history.json").read_text())["samples"]
    with tempfile.TemporaryDirectory(prefix="capacity-bench-") as tmp, prometheus(blocks, Path(tmp)) as url:
        check_loaded(url, history, samples)
        total = sum(samples.values())
        say(f"prometheus {url}: {len(blocks)} blocks, {len(samples)} metrics, {total:,} samples: all loaded")
        return measure(url, history, args.rounds)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/capacity.py", description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds of each (default 5, quick 2)")
    p.add_argument("--rebuild", action="store_true", help="generate and backfill the history again")
    args = p.parse_args(argv)
    args.rounds = args.rounds if args.rounds is not None else (2 if args.quick else 5)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def _terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the finally clauses stop Prometheus


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return run(args)
    except SetupError as exc:
        print(f"capacity: error: {exc}", file=sys.stderr)
        return 2
    except ReportFailed as exc:
        print(f"capacity: FAIL: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"capacity: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("capacity: interrupted; Prometheus stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
