"""The ``processes`` collector: config validation, naming, tracking and process-exporter's metrics."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

import psutil
import pytest

from exporter._families import Family
from exporter.collectors._process_source import parse_limits, parse_stat, parse_status
from exporter.collectors._registry import COLLECTORS, Settings
from exporter.collectors.processes import (
    ConfigError,
    ProcessesCollector,
    Reading,
    load_config,
    parse_config,
    parse_group,
)

FAMILIES = [
    "namedprocess_namegroup_num_procs",
    "namedprocess_namegroup_cpu_seconds_total",
    "namedprocess_namegroup_read_bytes_total",
    "namedprocess_namegroup_write_bytes_total",
    "namedprocess_namegroup_major_page_faults_total",
    "namedprocess_namegroup_minor_page_faults_total",
    "namedprocess_namegroup_context_switches_total",
    "namedprocess_namegroup_memory_bytes",
    "namedprocess_namegroup_num_threads",
    "namedprocess_namegroup_open_filedesc",
    "namedprocess_namegroup_worst_fd_ratio",
    "namedprocess_namegroup_oldest_start_time_seconds",
]


def reading(**values: float) -> Reading:
    return Reading(**{name: values.get(name, 0.0) for name in Reading._fields})


@dataclass
class FakeProc:
    comm: str
    cmdline: list[str]
    start: float = 1000.0
    ppid: int = 0
    value: Reading = field(default_factory=reading)
    gone: bool = False
    reads: int = 0
    describes: int = 0

    def create_time(self) -> float:
        return self.start

    def describe(self) -> tuple[str, list[str], int]:
        self.describes += 1
        return self.comm, self.cmdline, self.ppid

    def read(self) -> Reading:
        self.reads += 1
        if self.gone:
            raise psutil.NoSuchProcess(0)
        return self.value


class FakeHost:
    """pid -> (procfs inode hint, process); ``collector`` wires a collector to it."""

    def __init__(self) -> None:
        self.procs: dict[int, tuple[int, FakeProc]] = {}
        self.listings = 0

    def add(self, pid: int, proc: FakeProc, hint: int | None = None) -> FakeProc:
        self.procs[pid] = (pid if hint is None else hint, proc)
        return proc

    def listing(self) -> list[tuple[int, int]]:
        self.listings += 1
        return [(pid, hint) for pid, (hint, _) in self.procs.items()]

    def open(self, pid: int) -> FakeProc:
        if pid not in self.procs:
            raise psutil.NoSuchProcess(pid)
        return self.procs[pid][1]

    def collector(self, *groups: str, children: bool = True) -> ProcessesCollector:
        rules = [parse_group(g) for g in groups]
        return ProcessesCollector(
            rules=rules, children=children, listing=self.listing, open_process=self.open
        )


def value(families: list[Family], name: str, *labels: str) -> float:
    fam = next(f for f in families if f.name == name)
    return next(v for lv, v in fam.samples if lv == labels)


def groups(families: list[Family]) -> list[str]:
    return [lv[0] for lv, _ in families[0].samples]


# -- config validation ---------------------------------------------------------------------------


def test_invalid_regex_names_file_entry_and_field(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "processes.yml")
    with open(path, "w") as fh:
        fh.write("process_names:\n  - comm: [uvicorn]\n  - name: x\n    cmdline: ['a(']\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (
        str(err.value)
        == f"{path}: process_names[1].cmdline[0]: invalid regex 'a(': missing ), unterminated subpattern"
    )


BAD_CONFIGS = [
    (
        "process_names:\n  - {comm: [x], colour: red}\n",
        ": process_names[0]: unknown key 'colour' (expected name, comm, exe or cmdline)",
    ),
    (
        "process_names:\n  - {name: '', comm: [x]}\n",
        ": process_names[0].name: expected a non-empty string",
    ),
    (
        "process_names:\n  - {name: a}\n",
        ": process_names[0]: expected at least one of comm, exe or cmdline",
    ),
    (
        "process_names:\n  - {comm: uvicorn}\n",
        ": process_names[0].comm: expected a non-empty list of non-empty strings",
    ),
    (
        "process_names:\n  - {name: '{{.PID}}', comm: [x]}\n",
        ": process_names[0].name: unsupported template '{{.PID}}' "
        "(expected {{.Comm}}, {{.ExeBase}}, {{.ExeFull}} or {{.Matches.NAME}})",
    ),
    (
        "process_names:\n  - {name: '{{.Matches.app}}', cmdline: [x]}\n",
        ": process_names[0].name: '{{.Matches.app}}': no cmdline regex has a group named 'app'",
    ),
    (
        "process_names:\n  - {name: '{{.Comm', comm: [x]}\n",
        ": process_names[0].name: unterminated '{{' in '{{.Comm'",
    ),
    (
        "process_names:\n  - [x]\n",
        ": process_names[0]: expected a mapping with name, comm, exe or cmdline",
    ),
    (
        "process_names: {a: 1}\n",
        ": process_names: expected a list of entries",
    ),
    (
        "process_names: []\nextra: 1\n",
        ": unknown key 'extra' (expected process_names)",
    ),
    (
        "- comm: [x]\n",
        ": expected a mapping with the key process_names",
    ),
    (
        "",
        ": expected a mapping with the key process_names",
    ),
    (
        "process_names: [\n",
        ": not valid YAML: expected the node content, but found '<stream end>' (line 2, column 1)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_bad_config_is_one_line_naming_the_field(
    tmp_path: os.PathLike[str], text: str, expected: str
) -> None:
    path = os.path.join(tmp_path, "processes.yml")
    with open(path, "w") as fh:
        fh.write(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == path + expected


def test_missing_config_file_is_one_line(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "absent.yml")
    with pytest.raises(ConfigError, match=r"absent\.yml: cannot read: No such file or directory$"):
        load_config(path)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("x", "--collector.processes.group 'x': expected NAME=REGEX"),
        ("=x", "--collector.processes.group '=x': expected NAME=REGEX"),
        ("x=", "--collector.processes.group 'x=': expected NAME=REGEX"),
        (
            "x=a(",
            "--collector.processes.group 'x=a(': invalid regex 'a(': missing ), unterminated subpattern",
        ),
    ],
)
def test_bad_group_flag_is_one_line(flag: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_group(flag)
    assert str(err.value) == expected


def test_from_settings_rejects_bad_group_flag() -> None:
    with pytest.raises(ValueError, match="expected NAME=REGEX"):
        ProcessesCollector.from_settings(Settings(flags={"processes.group": ["nope"]}))


# -- matching and names --------------------------------------------------------------------------


def test_template_names_use_comm_exe_and_named_groups() -> None:
    [rule] = parse_config(
        {
            "process_names": [
                {"name": "{{.Comm}}:{{.ExeBase}}:{{ .Matches.app }}", "cmdline": [r"--app (?P<app>\w+)"]}
            ]
        },
        "t.yml",
    )
    assert (
        rule.match("uvicorn", ["/usr/bin/python3", "-m", "uvicorn", "--app", "sheets"])
        == "uvicorn:python3:sheets"
    )


def test_template_exefull_is_the_first_cmdline_word() -> None:
    [rule] = parse_config({"process_names": [{"name": "{{.ExeFull}}", "comm": ["python3"]}]}, "t.yml")
    assert rule.match("python3", ["/usr/bin/python3", "-c", "pass"]) == "/usr/bin/python3"


def test_name_defaults_to_exebase_like_process_exporter() -> None:
    [rule] = parse_config({"process_names": [{"comm": ["sleep"]}]}, "t.yml")
    assert rule.match("sleep", ["/bin/sleep", "5"]) == "sleep"


def test_exe_matches_basename_or_exact_full_path() -> None:
    [base, full] = parse_config({"process_names": [{"exe": ["python3"]}, {"exe": ["/usr/bin/python3"]}]}, "t")
    assert base.match("x", ["/opt/python3"]) == "python3"
    assert full.match("x", ["/opt/python3"]) is None
    assert full.match("x", ["/usr/bin/python3"]) == "python3"


def test_every_cmdline_regex_must_match() -> None:
    [rule] = parse_config({"process_names": [{"name": "w", "cmdline": ["uvicorn", "--workers"]}]}, "t")
    assert rule.match("python3", ["uvicorn", "app"]) is None
    assert rule.match("python3", ["uvicorn", "app", "--workers", "4"]) == "w"


def test_first_matching_entry_wins() -> None:
    host = FakeHost()
    host.add(10, FakeProc("uvicorn", ["uvicorn", "youtube2sheets.service:app"]))
    fams = host.collector("y2s=youtube2sheets", "any=uvicorn").collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "y2s") == 1
    assert value(fams, "namedprocess_namegroup_num_procs", "any") == 0


# -- tracking --------------------------------------------------------------------------------------


def test_no_groups_yields_nothing_and_lists_nothing() -> None:
    host = FakeHost()
    assert host.collector().collect() == []
    assert host.listings == 0


def test_group_without_processes_exports_every_family_at_zero() -> None:
    fams = FakeHost().collector("api=uvicorn").collect()
    assert [f.name for f in fams] == FAMILIES
    assert value(fams, "namedprocess_namegroup_num_procs", "api") == 0
    assert value(fams, "namedprocess_namegroup_cpu_seconds_total", "api", "user") == 0


def test_templated_group_appears_when_seen_and_stays_after_exit() -> None:
    host = FakeHost()
    collector = host.collector(r"{{.Comm}}=^worker")
    assert groups(collector.collect()) == []
    host.add(5, FakeProc("w1", ["worker"]))
    assert groups(collector.collect()) == ["w1"]
    del host.procs[5]
    fams = collector.collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "w1") == 0


def test_counters_stay_monotonic_when_a_process_exits() -> None:
    host = FakeHost()
    host.add(1, FakeProc("a", ["app"], value=reading(cpu_user=5, read_bytes=100, ctx_voluntary=7)))
    host.add(2, FakeProc("a", ["app"], value=reading(cpu_user=3, read_bytes=50, ctx_voluntary=1)))
    collector = host.collector("app=^app")
    assert value(collector.collect(), "namedprocess_namegroup_cpu_seconds_total", "app", "user") == 8
    del host.procs[2]
    fams = collector.collect()
    assert value(fams, "namedprocess_namegroup_cpu_seconds_total", "app", "user") == 8
    assert value(fams, "namedprocess_namegroup_read_bytes_total", "app") == 150
    assert value(fams, "namedprocess_namegroup_context_switches_total", "app", "voluntary") == 8
    assert value(fams, "namedprocess_namegroup_num_procs", "app") == 1


def test_a_counter_that_reads_lower_does_not_go_back() -> None:
    host = FakeHost()
    proc = host.add(1, FakeProc("a", ["app"], value=reading(minor_faults=10)))
    collector = host.collector("app=^app")
    collector.collect()
    proc.value = reading(minor_faults=4)
    assert value(collector.collect(), "namedprocess_namegroup_minor_page_faults_total", "app") == 10


def test_reused_pid_is_classified_again() -> None:
    host = FakeHost()
    host.add(7, FakeProc("a", ["app"], start=100, value=reading(cpu_system=2)), hint=70)
    collector = host.collector("app=^app", "db=^db")
    collector.collect()
    host.add(7, FakeProc("d", ["db"], start=200, value=reading(cpu_system=1)), hint=71)
    fams = collector.collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "app") == 0
    assert value(fams, "namedprocess_namegroup_cpu_seconds_total", "app", "system") == 2
    assert value(fams, "namedprocess_namegroup_num_procs", "db") == 1


def test_recycled_inode_with_same_start_time_keeps_the_classification() -> None:
    host = FakeHost()
    proc = host.add(7, FakeProc("a", ["app"], start=100), hint=70)
    collector = host.collector("app=^app")
    collector.collect()
    host.add(7, proc, hint=99)
    fams = collector.collect()
    assert proc.describes == 1
    assert value(fams, "namedprocess_namegroup_num_procs", "app") == 1


def test_only_matched_processes_are_read_and_classified_once() -> None:
    host = FakeHost()
    matched = host.add(1, FakeProc("a", ["app"]))
    others = [host.add(pid, FakeProc("x", ["other"])) for pid in range(2, 70)]
    collector = host.collector("app=^app")
    for _ in range(3):
        collector.collect()
    assert matched.reads == 3
    assert {(p.reads, p.describes) for p in others} == {(0, 1)}


def test_process_vanishing_mid_read_is_skipped() -> None:
    host = FakeHost()
    host.add(1, FakeProc("a", ["app"], value=reading(cpu_user=1)))
    gone = host.add(2, FakeProc("a", ["app"], value=reading(cpu_user=4)))
    collector = host.collector("app=^app")
    collector.collect()
    gone.gone = True
    fams = collector.collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "app") == 1
    assert value(fams, "namedprocess_namegroup_cpu_seconds_total", "app", "user") == 5


def test_gauges_sum_over_processes_and_keep_worst_ratio_and_oldest_start() -> None:
    host = FakeHost()
    host.add(1, FakeProc("a", ["app"], start=300, value=reading(rss=10, threads=2, open_fds=10, max_fds=100)))
    host.add(2, FakeProc("a", ["app"], start=200, value=reading(rss=5, threads=1, open_fds=50, max_fds=100)))
    fams = host.collector("app=^app").collect()
    assert value(fams, "namedprocess_namegroup_memory_bytes", "app", "resident") == 15
    assert value(fams, "namedprocess_namegroup_num_threads", "app") == 3
    assert value(fams, "namedprocess_namegroup_open_filedesc", "app") == 60
    assert value(fams, "namedprocess_namegroup_worst_fd_ratio", "app") == 0.5
    assert value(fams, "namedprocess_namegroup_oldest_start_time_seconds", "app") == 200


def test_children_of_a_matched_process_join_its_group() -> None:
    host = FakeHost()
    host.add(10, FakeProc("uvicorn", ["uvicorn", "youtube2sheets"]))
    host.add(11, FakeProc("python3", ["python3", "-c", "spawn_main()"], ppid=10))
    host.add(12, FakeProc("python3", ["python3", "-c", "other"], ppid=11))
    fams = host.collector("y2s=youtube2sheets").collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "y2s") == 3


def test_children_are_left_out_when_disabled() -> None:
    host = FakeHost()
    host.add(10, FakeProc("uvicorn", ["uvicorn", "youtube2sheets"]))
    host.add(11, FakeProc("python3", ["python3", "-c", "spawn_main()"], ppid=10))
    fams = host.collector("y2s=youtube2sheets", children=False).collect()
    assert value(fams, "namedprocess_namegroup_num_procs", "y2s") == 1


# -- parsing procfs ------------------------------------------------------------------------------

STAT = (
    "4242 (tmux: (srv) 1) S 1 4242 4242 0 -1 4194560 1503 0 7 0 250 120 0 0 20 0 3 0 "
    "12345 26345472 1200 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0"
)


def test_parse_stat_handles_a_comm_with_spaces_and_parentheses() -> None:
    st = parse_stat(STAT)
    assert (st.comm, st.ppid, st.minflt, st.majflt) == ("tmux: (srv) 1", 1, 1503, 7)
    assert (st.utime, st.stime, st.num_threads, st.vsize, st.rss) == (250, 120, 3, 26345472, 1200)


def test_parse_status_reads_switches_and_swap() -> None:
    text = (
        "Name:\tpython3\nVmSwap:\t     128 kB\nvoluntary_ctxt_switches:\t22\nnonvoluntary_ctxt_switches:\t2\n"
    )
    assert parse_status(text) == (22, 2, 131072)


def test_parse_status_of_a_kernel_thread_has_no_swap() -> None:
    assert parse_status("Name:\tkthreadd\nvoluntary_ctxt_switches:\t9\nnonvoluntary_ctxt_switches:\t0\n") == (
        9,
        0,
        0,
    )


def test_parse_limits_reads_the_soft_open_files_limit() -> None:
    text = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 524288               files     \n"
    )
    assert parse_limits(text) == 1024
    assert parse_limits(text.replace("1024 ", "unlimited ")) == 0


# -- registration and the real host ---------------------------------------------------------------


def test_registered_default_enabled_with_its_flags() -> None:
    spec = COLLECTORS["processes"]
    assert spec.default_enabled
    assert [f.name for f in spec.flags] == ["processes.config", "processes.group", "processes.children"]


def test_real_sleep_processes_are_counted() -> None:
    token = f"0.{os.getpid():07d}"  # sleep sums its arguments: 30.0xxxxxxx seconds, a distinctive cmdline
    settings = Settings(flags={"processes.group": [f"sleepers=sleep 30 {re.escape(token)}$"]})
    collector = ProcessesCollector.from_settings(settings)
    sleep = shutil.which("sleep") or "/bin/sleep"
    sleepers = [subprocess.Popen([sleep, "30", token]) for _ in range(2)]
    try:
        fams = collector.collect()
    finally:
        for proc in sleepers:
            proc.kill()
            proc.wait()
    assert value(fams, "namedprocess_namegroup_num_procs", "sleepers") == 2
    assert value(fams, "namedprocess_namegroup_memory_bytes", "sleepers", "resident") > 0
    assert value(fams, "namedprocess_namegroup_memory_bytes", "sleepers", "virtual") > 0
    assert value(fams, "namedprocess_namegroup_num_threads", "sleepers") == 2
    assert value(fams, "namedprocess_namegroup_open_filedesc", "sleepers") >= 6
    assert 0 < value(fams, "namedprocess_namegroup_worst_fd_ratio", "sleepers") < 1
    assert value(fams, "namedprocess_namegroup_oldest_start_time_seconds", "sleepers") > 1.6e9
    assert value(collector.collect(), "namedprocess_namegroup_num_procs", "sleepers") == 0
