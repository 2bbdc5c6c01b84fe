"""Our host exporter side by side with node_exporter 1.5, both restricted to the same nine collectors.

What is measured, and how
-------------------------
Both exporters start on free 127.0.0.1 ports with the collectors cpu, diskstats, filesystem, loadavg,
meminfo, netclass, netdev, stat, time and uname, and with the two filters Debian patches into
node_exporter's defaults passed explicitly to both (netdev ``^lo$``, the filesystem mount-point
exclude), so that they export the same host series; each keeps its own self metrics (go_*/process_* against
python_*/process_*). Every scrape is made as Prometheus 2.42 makes it: one keep-alive HTTP/1.1
connection per target, Prometheus's ``Accept``, ``Accept-Encoding: gzip``, ``User-Agent`` and
``X-Prometheus-Scrape-Timeout-Seconds`` headers, the whole body read and gunzipped. With that
``Accept`` ours answers OpenMetrics 1.0.0 and node_exporter 1.5 the text format 0.0.4 (its OpenMetrics
is off by default), which is what Prometheus gets from each.

1. Series: one scrape of each after the warm-up; sample lines of ``node_*`` metrics, and all of them,
   and the ``node_*`` metric names one exporter has more sample lines of than the other.
2. Latency: after a warm-up, blocks of sequential scrapes alternate between the exporters (who goes
   first alternates too) so that machine noise hits both alike; p50 and p99 over all samples.
3. CPU: utime + stime of the exporter process (``/proc/<pid>/stat``, all threads, ticks / SC_CLK_TCK)
   read around each block of a second interleaved sequential batch; the median over blocks of CPU
   seconds per 100 scrapes, and of the client-side wall time per scrape.
4. Memory: VmRSS (``/proc/<pid>/status``) right after the 1000th and the 5000th scrape since start;
   interleaved filler scrapes bring both exporters to 5000.
5. Concurrency: 8 scraper processes (so that this client's GIL is not the limit), each with its own
   keep-alive connection, hammer one exporter for 30 s, then the other; successes and errors
   (non-200, exceptions, empty bodies) are counted.

Targets, each printed with PASS/FAIL: p50, p99 and CPU per 100 scrapes at most 1.0x node_exporter's,
with at least as many ``node_*`` series; RSS at most 35 MiB after 1000 scrapes and at most +1 MiB
from 1000 to 5000 scrapes; no errors for ours, sequential or with 8 concurrent scrapers.

Usage: ``scripts/bench [--quick] [--json PATH] [--concurrent-seconds S]``; ``--quick`` reads RSS
after 300 and 600 scrapes and hammers for 5 s, a smoke run whose figures are not the targets'.
Figures also go to ``benchmarks/results/exporter.json`` (``exporter-quick.json`` with ``--quick``;
git-ignored) unless ``--json`` says elsewhere.
Exit status: 0 when every target passes, 1 when one fails, 2 on a setup error (one line on stderr).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import multiprocessing
import os
import platform
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "exporter.json"
sys.path.insert(0, str(REPO))
from tests.node_exporter_anchor import FLAGS  # noqa: E402  (the compatibility test's flags, the same)

NODE_EXPORTER = "prometheus-node-exporter"
# Exactly what Prometheus 2.42 sends with every scrape (http.client adds Host itself).
SCRAPE_HEADERS = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip",
    "User-Agent": "Prometheus/2.42.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}
HTTP_TIMEOUT = 10.0  # seconds, the scrape timeout the header announces
READY_TIMEOUT = 20.0  # seconds an exporter gets to answer its first /metrics
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
CLK_TCK = os.sysconf("SC_CLK_TCK")
RATIO_LIMIT = 1.0  # ours / node_exporter, latency and CPU
RSS_LIMIT_MIB = 35.0
RSS_GROWTH_TOLERANCE_MIB = 1.0


class SetupError(Exception):
    """The benchmark could not run (binary missing, exporter did not start): one line, exit 2."""


class ScrapeError(Exception):
    """One failed scrape: an exception, a non-200 answer or an empty body."""


@dataclass(frozen=True)
class Plan:
    """How many scrapes each phase makes, per exporter."""

    warmup: int
    blocks: int
    block_size: int
    rss_at: tuple[int, int]  # scrape counts since start at which VmRSS is read
    scrapers: int
    concurrent_seconds: float


FULL = Plan(warmup=50, blocks=10, block_size=100, rss_at=(1000, 5000), scrapers=8, concurrent_seconds=30.0)
QUICK = Plan(warmup=10, blocks=4, block_size=25, rss_at=(300, 600), scrapers=8, concurrent_seconds=5.0)


# --- one scrape, as Prometheus makes it ------------------------------------------------------------


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive HTTP/1.1 connection to 127.0.0.1 (opened on the first request, reopened after close)."""
    return http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)


def fetch(conn: http.client.HTTPConnection) -> bytes:
    """GET /metrics with Prometheus's headers; the whole body, gunzipped. Raises ``ScrapeError``."""
    try:
        conn.request("GET", "/metrics", headers=SCRAPE_HEADERS)
        resp = conn.getresponse()
        body = resp.read()
        if resp.getheader("Content-Encoding", "") == "gzip":
            body = zlib.decompress(body, 31)
    except (OSError, http.client.HTTPException, zlib.error) as exc:
        conn.close()
        raise ScrapeError(f"{type(exc).__name__}: {exc}") from exc
    if resp.status != 200:
        raise ScrapeError(f"HTTP {resp.status}")
    if not body:
        raise ScrapeError("empty body")
    return body


def count_series(text: str) -> Counter[str]:
    """Sample lines of an exposition by metric name."""
    return Counter(
        line.split("{", 1)[0].split(" ", 1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    )


def node_series(series: Counter[str]) -> int:
    return sum(n for name, n in series.items() if name.startswith("node_"))


def series_surplus(mine: Counter[str], other: Counter[str]) -> dict[str, int]:
    """``node_*`` metric names with more sample lines in ``mine`` than in ``other``, and by how many."""
    return {name: n for name, n in sorted((mine - other).items()) if name.startswith("node_")}


# --- /proc readings --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces and ')'
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise SetupError(f"/proc/{pid}/status has no VmRSS line")


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the two exporters -----------------------------------------------------------------------------


def shared_flags(port: int) -> list[str]:
    """The flags both exporters take: same collectors, same filters, their own port."""
    return [*FLAGS, f"--web.listen-address=127.0.0.1:{port}"]


@dataclass
class Exporter:
    """One exporter process, its keep-alive connection and everything measured on it."""

    name: str
    argv: list[str]
    port: int
    rss_at: tuple[int, ...]
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    conn: http.client.HTTPConnection | None = None
    scrapes: int = 0  # attempts since start, errors included
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, latency phase
    cpu_blocks: list[float] = field(default_factory=list)  # CPU seconds per 100 scrapes, per block
    wall_blocks: list[float] = field(default_factory=list)  # wall seconds per scrape, per block
    rss: dict[int, float] = field(default_factory=dict)  # scrapes since start -> MiB

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the process; stop() closes it)
        self.proc = subprocess.Popen(
            self.argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.conn = connect(self.port)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll /metrics on a fresh connection until it answers 200; SetupError if it never does."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"{self.name} exited with status {self.proc.returncode} before answering /metrics: "
                    f"{self.last_log_line() or 'no output'}"
                )
            probe = connect(self.port)
            try:
                fetch(probe)
                return
            except ScrapeError:
                time.sleep(0.1)
            finally:
                probe.close()
        raise SetupError(
            f"{self.name} did not answer /metrics on 127.0.0.1:{self.port} within {timeout:.0f}s"
        )

    def last_log_line(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.log is not None:
            self.log.close()

    def scrape(self) -> float | None:
        """One timed scrape on the keep-alive connection: seconds, or None on error (recorded)."""
        assert self.conn is not None
        start = time.perf_counter()
        try:
            fetch(self.conn)
            elapsed: float | None = time.perf_counter() - start
        except ScrapeError as exc:
            self.errors.append(str(exc))
            elapsed = None
        self.scrapes += 1
        if self.scrapes in self.rss_at:
            self.rss[self.scrapes] = rss_mib(self.pid)
        return elapsed

    def scrape_many(self, n: int) -> list[float]:
        """``n`` sequential scrapes; the durations of those that succeeded."""
        return [t for t in (self.scrape() for _ in range(n)) if t is not None]

    def body(self) -> str:
        """One untimed scrape's text, counted like any other ("" on error, recorded)."""
        assert self.conn is not None
        self.scrapes += 1
        try:
            return fetch(self.conn).decode()
        except ScrapeError as exc:
            self.errors.append(str(exc))
            return ""


def build_exporters(plan: Plan) -> list[Exporter]:
    """Ours first, node_exporter second; SetupError when either cannot be run."""
    binary = shutil.which(NODE_EXPORTER)
    if binary is None:
        raise SetupError(f"{NODE_EXPORTER} not found on PATH: install Debian's prometheus-node-exporter")
    if importlib.util.find_spec("exporter") is None:
        raise SetupError(f"{sys.executable} cannot import 'exporter': run scripts/bench (it sets up .venv)")
    ours_port, theirs_port = free_port(), free_port()
    return [
        Exporter(
            "ours", [sys.executable, "-m", "exporter", *shared_flags(ours_port)], ours_port, plan.rss_at
        ),
        Exporter("node_exporter", [binary, *shared_flags(theirs_port)], theirs_port, plan.rss_at),
    ]


def node_exporter_version() -> str:
    binary = shutil.which(NODE_EXPORTER) or NODE_EXPORTER
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (out.stdout + out.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


# --- phases ----------------------------------------------------------------------------------------


def interleave(exporters: Sequence[Exporter], blocks: int, run: Callable[[Exporter], None]) -> None:
    """Run ``blocks`` rounds of ``run`` on each exporter, alternating which one goes first."""
    for b in range(blocks):
        for exp in exporters if b % 2 == 0 else reversed(exporters):
            run(exp)


def latency_phase(exporters: Sequence[Exporter], plan: Plan) -> None:
    def block(exp: Exporter) -> None:
        exp.latencies += exp.scrape_many(plan.block_size)

    interleave(exporters, plan.blocks, block)


def cpu_phase(exporters: Sequence[Exporter], plan: Plan) -> None:
    def block(exp: Exporter) -> None:
        cpu0, wall0 = cpu_seconds(exp.pid), time.perf_counter()
        exp.scrape_many(plan.block_size)
        wall, cpu = time.perf_counter() - wall0, cpu_seconds(exp.pid) - cpu0
        exp.cpu_blocks.append(cpu * 100 / plan.block_size)
        exp.wall_blocks.append(wall / plan.block_size)

    interleave(exporters, plan.blocks, block)


def fill_to(exporters: Sequence[Exporter], total: int, block_size: int) -> None:
    """Interleaved sequential scrapes until each exporter has made ``total`` since start."""
    rounds = math.ceil(max(total - exp.scrapes for exp in exporters) / block_size)

    def block(exp: Exporter) -> None:
        exp.scrape_many(max(0, min(block_size, total - exp.scrapes)))

    interleave(exporters, max(rounds, 0), block)


@dataclass
class Hammered:
    """The outcome of one exporter under concurrent scrapers."""

    scrapers: int
    seconds: float
    ok: int = 0
    errors: int = 0
    first_error: str = ""

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds


def hammer(port: int, seconds: float, start: Any, results: Any) -> None:
    """One scraper process: wait for the others, then scrape in a loop for ``seconds``."""
    conn = connect(port)
    ok = errors = 0
    first = ""
    try:
        start.wait(READY_TIMEOUT)
    except threading.BrokenBarrierError:
        results.put((0, 1, f"the scraper processes did not all start within {READY_TIMEOUT:.0f}s"))
        return
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            fetch(conn)
            ok += 1
        except ScrapeError as exc:
            errors += 1
            first = first or str(exc)
            time.sleep(0.01)  # a refused connection must not turn into a busy loop
    conn.close()
    results.put((ok, errors, first))


def concurrency_phase(exp: Exporter, plan: Plan) -> Hammered:
    """``plan.scrapers`` processes, each with its own keep-alive connection, for the planned seconds."""
    ctx = multiprocessing.get_context("spawn")  # nothing inherited: no sockets, no Popen handles
    start, results = ctx.Barrier(plan.scrapers), ctx.Queue()
    procs = [
        ctx.Process(target=hammer, args=(exp.port, plan.concurrent_seconds, start, results), daemon=True)
        for _ in range(plan.scrapers)
    ]
    out = Hammered(plan.scrapers, plan.concurrent_seconds)
    try:
        for p in procs:
            p.start()
        for _ in procs:
            try:
                ok, errors, first = results.get(
                    timeout=READY_TIMEOUT + plan.concurrent_seconds + HTTP_TIMEOUT
                )
            except queue.Empty:
                raise SetupError(f"a scraper process on {exp.name} never reported back") from None
            out.ok, out.errors = out.ok + ok, out.errors + errors
            out.first_error = out.first_error or first
    finally:
        for p in procs:
            p.join(STOP_TIMEOUT)
            if p.is_alive():
                p.kill()
                p.join(STOP_TIMEOUT)
    return out


# --- figures, targets and the table ----------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Figures:
    """Everything measured on one exporter, in the units the table prints."""

    node_series: int
    all_series: int
    p50_ms: float
    p99_ms: float
    latency_samples: int
    cpu_s_per_100: float
    cpu_blocks: list[float]
    wall_ms_per_scrape: float
    rss_first_mib: float
    rss_second_mib: float
    sequential_errors: int
    first_sequential_error: str
    concurrent_per_s: float
    concurrent_ok: int
    concurrent_errors: int
    first_concurrent_error: str

    @property
    def rss_growth_mib(self) -> float:
        return self.rss_second_mib - self.rss_first_mib


def figures(exp: Exporter, series: Counter[str], plan: Plan, hammered: Hammered) -> Figures:
    first, second = plan.rss_at
    return Figures(
        node_series=node_series(series),
        all_series=series.total(),
        p50_ms=percentile(exp.latencies, 0.50) * 1000,
        p99_ms=percentile(exp.latencies, 0.99) * 1000,
        latency_samples=len(exp.latencies),
        cpu_s_per_100=median(exp.cpu_blocks),
        cpu_blocks=exp.cpu_blocks,
        wall_ms_per_scrape=median(exp.wall_blocks) * 1000,
        rss_first_mib=exp.rss.get(first, math.nan),
        rss_second_mib=exp.rss.get(second, math.nan),
        sequential_errors=len(exp.errors),
        first_sequential_error=exp.errors[0] if exp.errors else "",
        concurrent_per_s=hammered.per_second,
        concurrent_ok=hammered.ok,
        concurrent_errors=hammered.errors,
        first_concurrent_error=hammered.first_error,
    )


@dataclass(frozen=True)
class Row:
    """One line of the table; ``passed`` is None for figures that have no target."""

    metric: str
    ours: str
    theirs: str
    ratio: str
    target: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else math.nan


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def ratio_row(metric: str, ours: float, theirs: float, digits: int) -> Row:
    """A row whose target is ours / node_exporter <= RATIO_LIMIT."""
    r = ratio(ours, theirs)
    return Row(
        metric, f"{ours:.{digits}f}", f"{theirs:.{digits}f}", fmt_ratio(r), "<= 1.00x", r <= RATIO_LIMIT
    )


def info_row(metric: str, ours: float, theirs: float, digits: int) -> Row:
    r = ratio(ours, theirs)
    return Row(metric, f"{ours:.{digits}f}", f"{theirs:.{digits}f}", fmt_ratio(r), "-", None)


def rows(ours: Figures, theirs: Figures, plan: Plan) -> list[Row]:
    first, second = plan.rss_at
    n = plan.scrapers
    return [
        Row(
            "node_* series",
            str(ours.node_series),
            str(theirs.node_series),
            fmt_ratio(ratio(ours.node_series, theirs.node_series)),
            ">= node_exporter",
            ours.node_series >= theirs.node_series,
        ),
        info_row("all sample lines", ours.all_series, theirs.all_series, 0),
        ratio_row("scrape p50 (ms)", ours.p50_ms, theirs.p50_ms, 2),
        ratio_row("scrape p99 (ms)", ours.p99_ms, theirs.p99_ms, 2),
        ratio_row("CPU s / 100 scrapes (median)", ours.cpu_s_per_100, theirs.cpu_s_per_100, 3),
        info_row(
            "wall ms / scrape, CPU phase (median)", ours.wall_ms_per_scrape, theirs.wall_ms_per_scrape, 2
        ),
        Row(
            f"RSS after {first} scrapes (MiB)",
            f"{ours.rss_first_mib:.1f}",
            f"{theirs.rss_first_mib:.1f}",
            fmt_ratio(ratio(ours.rss_first_mib, theirs.rss_first_mib)),
            f"ours <= {RSS_LIMIT_MIB:.0f} MiB",
            ours.rss_first_mib <= RSS_LIMIT_MIB,
        ),
        info_row(f"RSS after {second} scrapes (MiB)", ours.rss_second_mib, theirs.rss_second_mib, 1),
        Row(
            f"RSS growth {first}->{second} (MiB)",
            f"{ours.rss_growth_mib:+.1f}",
            f"{theirs.rss_growth_mib:+.1f}",
            "-",
            f"ours <= +{RSS_GROWTH_TOLERANCE_MIB:.1f} MiB",
            ours.rss_growth_mib <= RSS_GROWTH_TOLERANCE_MIB,
        ),
        Row(
            "errors, sequential scrapes",
            str(ours.sequential_errors),
            str(theirs.sequential_errors),
            "-",
            "ours = 0",
            ours.sequential_errors == 0,
        ),
        info_row(f"{n} concurrent: scrapes/s", ours.concurrent_per_s, theirs.concurrent_per_s, 1),
        Row(
            f"{n} concurrent: errors",
            str(ours.concurrent_errors),
            str(theirs.concurrent_errors),
            "-",
            "ours = 0",
            ours.concurrent_errors == 0,
        ),
    ]


def table(lines: Iterable[Row]) -> str:
    header = ("metric", "ours", "node_exporter", "ratio", "target", "verdict")
    cells = [header, *((r.metric, r.ours, r.theirs, r.ratio, r.target, r.verdict) for r in lines)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    text = [
        " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    text.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(text)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n")
    tmp.replace(path)


# --- the run ---------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, flush=True)


def measure(exporters: Sequence[Exporter], plan: Plan) -> tuple[dict[str, Counter[str]], dict[str, Hammered]]:
    """All phases, in an order that keeps RSS readings clear of the concurrent phase."""
    ours, theirs = exporters
    say(f"warm-up: {plan.warmup} scrapes each")
    for exp in exporters:
        exp.scrape_many(plan.warmup)
    series = {exp.name: count_series(exp.body()) for exp in exporters}
    say(f"latency: {plan.blocks} interleaved blocks of {plan.block_size} scrapes each")
    latency_phase(exporters, plan)
    say(f"CPU: {plan.blocks} interleaved blocks of {plan.block_size} scrapes each")
    cpu_phase(exporters, plan)
    say(f"memory: interleaved scrapes up to {plan.rss_at[1]} each (RSS read at {plan.rss_at})")
    fill_to(exporters, plan.rss_at[1], plan.block_size)
    hammered = {}
    for exp in (ours, theirs):
        say(f"concurrency: {plan.scrapers} scraper processes on {exp.name} for {plan.concurrent_seconds:g}s")
        hammered[exp.name] = concurrency_phase(exp, plan)
    return series, hammered


def print_notes(series: dict[str, Counter[str]], figs: dict[str, Figures]) -> dict[str, dict[str, int]]:
    """Which ``node_*`` sample lines only one exporter has, and the first error of each kind."""
    ours, theirs = series["ours"], series["node_exporter"]
    surplus = {"ours": series_surplus(ours, theirs), "node_exporter": series_surplus(theirs, ours)}
    for name, extra in surplus.items():
        listed = ", ".join(f"{metric} ({n})" for metric, n in extra.items()) or "none"
        say(f"node_* sample lines only {name} has: {listed}")
    for name, fig in figs.items():
        for kind, err in (
            ("sequential", fig.first_sequential_error),
            ("concurrent", fig.first_concurrent_error),
        ):
            if err:
                say(f"{name}: first {kind} error: {err}")
    return surplus


def finite(value: Any) -> Any:
    """``value`` with NaN (a figure that could not be measured) as None, so the JSON stays strict."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def start_all(exporters: Sequence[Exporter]) -> None:
    for exp in exporters:
        exp.start()
    for exp in exporters:
        exp.wait_ready()
        say(f"{exp.name}: pid {exp.pid} on 127.0.0.1:{exp.port}, RSS {rss_mib(exp.pid):.1f} MiB at start")


def run(plan: Plan, json_path: Path) -> int:
    """Start both exporters, measure, stop them, print the table and write the JSON; the exit status."""
    exporters = build_exporters(plan)
    versions = {"python": platform.python_version(), "node_exporter": node_exporter_version()}
    load_before = os.getloadavg()
    say(
        f"exporter_vs_node_exporter: {os.cpu_count()} CPUs, load {load_before[0]:.2f}, "
        f"Python {versions['python']}, {versions['node_exporter']}"
    )
    try:
        start_all(exporters)
        series, hammered = measure(exporters, plan)
    finally:
        for exp in exporters:
            exp.stop()
    figs = {exp.name: figures(exp, series[exp.name], plan, hammered[exp.name]) for exp in exporters}
    lines = rows(figs["ours"], figs["node_exporter"], plan)
    passed = all(r.passed is not False for r in lines)
    load_after = os.getloadavg()
    say("\n" + table(lines) + "\n")
    say(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs")
    surplus = print_notes(series, figs)
    payload = {
        "plan": asdict(plan),
        **{name: asdict(fig) for name, fig in figs.items()},
        "rows": [asdict(r) | {"verdict": r.verdict} for r in lines],
        "node_series_surplus": surplus,
        "passed": passed,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after},
        "versions": versions,
    }
    write_json(json_path, finite(payload))
    say(f"{'all targets PASS' if passed else 'some targets FAIL'}; figures written to {json_path}")
    return 0 if passed else 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive number of seconds")
    return seconds


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = _Parser(prog="exporter_vs_node_exporter", description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="fewer scrapes and 5 s of concurrency (smoke run)")
    p.add_argument(
        "--json", type=Path, default=None, help=f"where to write the figures (default {DEFAULT_JSON})"
    )
    p.add_argument(
        "--concurrent-seconds", type=positive_seconds, default=None, help="concurrency phase length"
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    plan = QUICK if ns.quick else FULL
    if ns.concurrent_seconds is not None:
        plan = replace(plan, concurrent_seconds=ns.concurrent_seconds)
    json_path = ns.json or (DEFAULT_JSON.with_stem("exporter-quick") if ns.quick else DEFAULT_JSON)
    try:
        return run(plan, json_path)
    except SetupError as exc:
        print(f"exporter_vs_node_exporter: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
