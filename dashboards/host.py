"""Host: utilisation, saturation and errors (the USE method) of the host and its process groups.

CPU, memory, filesystems, disks and network from the host exporter's node_exporter-compatible
metrics (the node-mixin recording rules where an alert watches the panel), and the named process
groups from its process-exporter-compatible `namedprocess_namegroup_*` metrics.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import common

from alerting import DASHBOARDS, Thresholds, load_thresholds

from ._build import GREEN, RED, YELLOW, Board, Variable, query, stat_panel, timeseries_panel

SEL = 'job="$job",instance=~"$instance"'
FS = f'{SEL},fstype!=""'  # real filesystems, as the alerts select them
# CPUs per instance: the divisor of every per-CPU ratio.
CPUS = f'count by (job, instance) (node_cpu_seconds_total{{{SEL},mode="idle"}})'
# predict_linear's look-back, as NodeFilesystemSpaceFillingUp uses it (alerting/_host.py).
FILL_LOOKBACK = "6h"
# Load per CPU at which runnable tasks start to queue: a property of the load average, not a seed
# target (no alert watches load), so it is drawn in yellow.
LOAD_SATURATED = 1.0


def rate(metric: str, extra: str = "") -> str:
    """``rate(metric{job, instance[, extra]}[$__rate_interval])``."""
    return f"rate({metric}{{{SEL}{extra}}}[$__rate_interval])"


def per_op(numerator: str, denominator: str) -> str:
    """One counter's rate per another's: seconds per operation, errors per packet."""
    return f"{rate(numerator)} / {rate(denominator)}"


def text_stat(panel: stat.Panel) -> stat.Panel:
    """A stat that shows its series' legend (a label's value) rather than a number."""
    return panel.text_mode(common.BigValueTextMode.NAME).graph_mode(common.BigValueGraphMode.NONE)


def overview(board: Board, t: Thresholds) -> None:
    board.row("Overview")
    board.add(
        stat_panel(
            "Uptime",
            "Time since the host booted (node_time_seconds - node_boot_time_seconds).",
            "s",
            [
                query(
                    f"node_time_seconds{{{SEL}}} - node_boot_time_seconds{{{SEL}}}",
                    "{{instance}}",
                    instant=True,
                )
            ],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "CPUs",
            'Logical CPUs the exporter sees (count of node_cpu_seconds_total{mode="idle"}).',
            "short",
            [query(CPUS, "{{instance}}", instant=True)],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "CPU busy",
            "Share of all CPUs busy over 5 minutes (instance:node_cpu_utilisation:rate5m, what "
            "NodeCPUHighUsage watches). Red at its threshold.",
            "percentunit",
            [query(f"instance:node_cpu_utilisation:rate5m{{{SEL}}}", "{{instance}}", instant=True)],
            thresholds=[(t.ratio("host", "cpu_utilisation"), RED)],
            runbooks=["NodeCPUHighUsage"],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "Load per CPU",
            "1-minute load average divided by the CPU count (instance:node_load1_per_cpu:ratio); above 1, "
            "runnable tasks queue for a CPU.",
            "short",
            [query(f"instance:node_load1_per_cpu:ratio{{{SEL}}}", "{{instance}}", instant=True)],
            thresholds=[(LOAD_SATURATED, YELLOW)],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "Memory used",
            "Share of memory not available to new work (instance:node_memory_utilisation:ratio). Red at "
            "the NodeMemoryHighUtilization threshold (which also needs swap in use).",
            "percentunit",
            [query(f"instance:node_memory_utilisation:ratio{{{SEL}}}", "{{instance}}", instant=True)],
            thresholds=[(t.ratio("host", "memory_utilisation"), RED)],
            runbooks=["NodeMemoryHighUtilization"],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "Swap used",
            "Swap in use (node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes); 0 on a host without "
            "swap. Memory pressure turns into an alert only once this is above 0.",
            "bytes",
            [
                query(
                    f"node_memory_SwapTotal_bytes{{{SEL}}} - node_memory_SwapFree_bytes{{{SEL}}}",
                    "{{instance}}",
                    instant=True,
                )
            ],
        ),
        width=3,
    )
    board.add(
        stat_panel(
            "Root filesystem used",
            'Share of / that is used (instance:node_filesystem_utilisation:ratio{mountpoint="/"}). '
            "Yellow and red where NodeFilesystemAlmostOutOfSpace warns and pages.",
            "percentunit",
            [
                query(
                    f'instance:node_filesystem_utilisation:ratio{{{SEL},mountpoint="/"}}',
                    "{{instance}}",
                    instant=True,
                )
            ],
            thresholds=space_steps(t),
            runbooks=["NodeFilesystemAlmostOutOfSpace"],
        ),
        width=3,
    )
    board.add(
        text_stat(
            stat_panel(
                "Kernel",
                "The kernel release and machine (node_uname_info's labels).",
                "none",
                [query(f"node_uname_info{{{SEL}}}", "{{nodename}}: {{release}} {{machine}}", instant=True)],
                base="blue",
            )
        ),
        width=3,
    )


def space_steps(t: Thresholds) -> list[tuple[float, str]]:
    """Used-space colours: yellow and red where NodeFilesystemAlmostOutOfSpace warns and pages."""
    return [
        (round(1 - t.ratio("host", "filesystem_almost_full_warning_free"), 6), YELLOW),
        (round(1 - t.ratio("host", "filesystem_almost_full_critical_free"), 6), RED),
    ]


def cpu(board: Board, t: Thresholds) -> None:
    board.row("CPU")
    board.add(
        timeseries_panel(
            "CPU utilisation",
            "Share of all CPUs that is busy (not idle, iowait or steal), over 5 minutes: "
            "instance:node_cpu_utilisation:rate5m, what NodeCPUHighUsage watches. The red line is its "
            "threshold; the alert needs it crossed for the whole of its `for`.",
            "percentunit",
            [query(f"instance:node_cpu_utilisation:rate5m{{{SEL}}}", "{{instance}}")],
            thresholds=[(t.ratio("host", "cpu_utilisation"), RED)],
            minimum=0,
            maximum=1,
            runbooks=["NodeCPUHighUsage"],
        ),
    )
    busy = rate("node_cpu_seconds_total", ',mode!="idle"')
    board.add(
        timeseries_panel(
            "CPU by mode",
            "Share of all CPUs spent in each mode except idle, stacked (rate of node_cpu_seconds_total "
            "by mode / CPU count): the top of the stack is everything but idle. Much iowait means the "
            "CPUs wait on disks; steal means the hypervisor gives the CPU to someone else.",
            "percentunit",
            [
                query(
                    f"sum by (job, instance, mode) ({busy}) / on (job, instance) group_left {CPUS}",
                    "{{mode}} {{instance}}",
                )
            ],
            minimum=0,
            maximum=1,
            stacked=True,
        ),
    )
    board.add(
        timeseries_panel(
            "Load per CPU",
            "Load averages over 1, 5 and 15 minutes (node_load1, node_load5, node_load15) divided by "
            "the CPU count: runnable plus uninterruptible tasks per CPU. Above the yellow line at 1 "
            "work waits for a CPU (or for a disk, when iowait is high too).",
            "short",
            [
                query(f"node_load{n}{{{SEL}}} / on (job, instance) {CPUS}", f"{n}m {{{{instance}}}}")
                for n in (1, 5, 15)
            ],
            thresholds=[(LOAD_SATURATED, YELLOW)],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Context switches, interrupts, forks",
            "Per second: context switches (node_context_switches_total), interrupts (node_intr_total) and "
            "new processes (node_forks_total). A jump in forks is often a crash-looping child.",
            "ops",
            [
                query(rate("node_context_switches_total"), "context switches {{instance}}"),
                query(rate("node_intr_total"), "interrupts {{instance}}"),
                query(rate("node_forks_total"), "forks {{instance}}"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Processes running and blocked",
            "Processes runnable now (node_procs_running) and blocked on I/O (node_procs_blocked). "
            "Running well above the CPU count is CPU saturation; blocked above 0 for long is disk "
            "saturation.",
            "short",
            [
                query(f"node_procs_running{{{SEL}}}", "running {{instance}}"),
                query(f"node_procs_blocked{{{SEL}}}", "blocked {{instance}}"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Clock offset",
            "The host's clock minus the time Prometheus scraped it (node_time_seconds - "
            "timestamp(node_time_seconds)), which includes the scrape's latency. A drift of seconds breaks "
            "rates and TLS.",
            "s",
            [query(f"node_time_seconds{{{SEL}}} - timestamp(node_time_seconds{{{SEL}}})", "{{instance}}")],
        ),
        width=6,
    )


# Memory families shown in "Memory details": node_memory_<name>_bytes.
MEMORY_DETAILS = (
    "Active_anon",
    "Inactive_anon",
    "Active_file",
    "Inactive_file",
    "AnonPages",
    "Mapped",
    "Dirty",
    "Writeback",
    "PageTables",
    "KernelStack",
    "Committed_AS",
    "CommitLimit",
)


def memory(board: Board, t: Thresholds) -> None:
    board.row("Memory")
    board.add(
        timeseries_panel(
            "Memory utilisation",
            "Share of memory not available to new work (1 - MemAvailable / MemTotal: "
            "instance:node_memory_utilisation:ratio). The red line is NodeMemoryHighUtilization's "
            "threshold; the alert fires only while swap is also in use (see Swap).",
            "percentunit",
            [query(f"instance:node_memory_utilisation:ratio{{{SEL}}}", "{{instance}}")],
            thresholds=[(t.ratio("host", "memory_utilisation"), RED)],
            minimum=0,
            maximum=1,
            runbooks=["NodeMemoryHighUtilization"],
        ),
        width=8,
    )
    used = f"node_memory_MemTotal_bytes{{{SEL}}} - node_memory_MemAvailable_bytes{{{SEL}}}"
    board.add(
        timeseries_panel(
            "Memory",
            "Total, used (MemTotal - MemAvailable), available, free, and what the kernel holds in "
            "buffers, page cache, shared memory and slab (node_memory_*_bytes). Cache and buffers are "
            "given back under pressure, so watch available, not free.",
            "bytes",
            [
                query(f"node_memory_MemTotal_bytes{{{SEL}}}", "total {{instance}}"),
                query(used, "used {{instance}}"),
                query(f"node_memory_MemAvailable_bytes{{{SEL}}}", "available {{instance}}"),
                query(f"node_memory_MemFree_bytes{{{SEL}}}", "free {{instance}}"),
                query(f"node_memory_Buffers_bytes{{{SEL}}}", "buffers {{instance}}"),
                query(f"node_memory_Cached_bytes{{{SEL}}}", "cached {{instance}}"),
                query(f"node_memory_Shmem_bytes{{{SEL}}}", "shared {{instance}}"),
                query(f"node_memory_SReclaimable_bytes{{{SEL}}}", "slab reclaimable {{instance}}"),
                query(f"node_memory_SUnreclaim_bytes{{{SEL}}}", "slab unreclaimable {{instance}}"),
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Swap",
            "Swap used (node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes), its size, and swapped "
            "pages also still in memory (node_memory_SwapCached_bytes). Used swap plus high memory "
            "utilisation is what NodeMemoryHighUtilization fires on.",
            "bytes",
            [
                query(
                    f"node_memory_SwapTotal_bytes{{{SEL}}} - node_memory_SwapFree_bytes{{{SEL}}}",
                    "used {{instance}}",
                ),
                query(f"node_memory_SwapTotal_bytes{{{SEL}}}", "total {{instance}}"),
                query(f"node_memory_SwapCached_bytes{{{SEL}}}", "cached {{instance}}"),
            ],
            minimum=0,
            runbooks=["NodeMemoryHighUtilization"],
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Memory details",
            "Where the memory goes, from /proc/meminfo (node_memory_<field>_bytes): anonymous and file "
            "pages on the active and inactive lists, mapped files, dirty pages and writeback, page "
            "tables, kernel stacks, and committed memory against the commit limit.",
            "bytes",
            [
                query(f"node_memory_{name}_bytes{{{SEL}}}", f"{name} {{{{instance}}}}")
                for name in MEMORY_DETAILS
            ],
            minimum=0,
        ),
        width=24,
    )


def filesystems(board: Board, t: Thresholds) -> None:
    board.row("Filesystems")
    board.add(
        timeseries_panel(
            "Filesystem space used",
            "Share of each filesystem's space that is used (instance:node_filesystem_utilisation:ratio, "
            "root-reserved blocks count as used). Yellow and red lines: where NodeFilesystemAlmostOutOfSpace "
            "warns and pages. NodeFilesystemSpaceFillingUp also fires earlier when the trend says full soon.",
            "percentunit",
            [query(f"instance:node_filesystem_utilisation:ratio{{{SEL}}}", "{{mountpoint}} {{instance}}")],
            thresholds=space_steps(t),
            minimum=0,
            maximum=1,
            runbooks=["NodeFilesystemAlmostOutOfSpace", "NodeFilesystemSpaceFillingUp"],
        ),
    )
    hours = t.number("host", "filesystem_filling_warning_hours")
    board.add(
        timeseries_panel(
            f"Free space predicted in {hours:g} h",
            f"Available bytes each filesystem will have in {hours:g} hours if the last "
            f"{FILL_LOOKBACK} trend holds (predict_linear of node_filesystem_avail_bytes). Below the red "
            "line at 0 it fills up: NodeFilesystemSpaceFillingUp fires when that meets little free space.",
            "bytes",
            [
                query(
                    f"predict_linear(node_filesystem_avail_bytes{{{FS}}}[{FILL_LOOKBACK}], {hours:g} * 3600)",
                    "{{mountpoint}} {{instance}}",
                )
            ],
            thresholds=[(0, GREEN)],
            base=RED,
            runbooks=["NodeFilesystemSpaceFillingUp"],
        ),
    )
    board.add(
        timeseries_panel(
            "Filesystem space",
            "Size (node_filesystem_size_bytes) and space available to unprivileged users "
            "(node_filesystem_avail_bytes, what the alerts use: root-reserved blocks count as used), "
            "per mount point.",
            "bytes",
            [
                query(f"node_filesystem_size_bytes{{{FS}}}", "size {{mountpoint}}"),
                query(f"node_filesystem_avail_bytes{{{FS}}}", "available {{mountpoint}}"),
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Inodes used",
            "Share of each filesystem's inodes in use (instance:node_filesystem_files_utilisation:ratio, "
            "from node_filesystem_files and node_filesystem_files_free). Many small files exhaust inodes "
            "with space to spare. Yellow and red: where NodeFilesystemAlmostOutOfFiles warns and pages.",
            "percentunit",
            [
                query(
                    f"instance:node_filesystem_files_utilisation:ratio{{{SEL}}}",
                    "{{mountpoint}} {{instance}}",
                )
            ],
            thresholds=[
                (round(1 - t.ratio("host", "inodes_almost_full_warning_free"), 6), YELLOW),
                (round(1 - t.ratio("host", "inodes_almost_full_critical_free"), 6), RED),
            ],
            minimum=0,
            maximum=1,
            runbooks=["NodeFilesystemAlmostOutOfFiles"],
        ),
        width=8,
    )
    board.add(
        stat_panel(
            "Filesystems failing",
            "Mounted filesystems whose statfs fails (node_filesystem_device_error == 1): a dead NFS "
            "server, a vanished device. Red from one: NodeFilesystemDeviceError.",
            "short",
            [
                query(
                    f"count(node_filesystem_device_error{{{FS}}} == 1) or vector(0)", "failing", instant=True
                )
            ],
            thresholds=[(1, RED)],
            runbooks=["NodeFilesystemDeviceError"],
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Read-only filesystems",
            "Mounted filesystems that are read-only (node_filesystem_readonly == 1). Some are meant to be; "
            "one that turns read-only at run time usually had an I/O error. The filesystem alerts ignore "
            "read-only filesystems.",
            "short",
            [query(f"count(node_filesystem_readonly{{{FS}}} == 1) or vector(0)", "read-only", instant=True)],
            base="blue",
        ),
        width=4,
    )


def disks(board: Board, t: Thresholds) -> None:
    board.row("Disk I/O")
    board.add(
        timeseries_panel(
            "Disk throughput",
            "Bytes per second read (node_disk_read_bytes_total) and written "
            "(node_disk_written_bytes_total), per block device.",
            "Bps",
            [
                query(rate("node_disk_read_bytes_total"), "read {{device}}"),
                query(rate("node_disk_written_bytes_total"), "written {{device}}"),
            ],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Disk operations",
            "Reads and writes completed per second (rate of node_disk_reads_completed_total and "
            "node_disk_writes_completed_total), per block device.",
            "iops",
            [
                query(rate("node_disk_reads_completed_total"), "reads {{device}}"),
                query(rate("node_disk_writes_completed_total"), "writes {{device}}"),
            ],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Disk busy",
            "Share of wall time each device had at least one I/O in flight (rate of "
            "node_disk_io_time_seconds_total). Near 100 % a device with one queue is saturated; SSDs and "
            "RAID serve many requests at once, so read saturation below.",
            "percentunit",
            [query(rate("node_disk_io_time_seconds_total"), "{{device}}")],
            minimum=0,
            maximum=1,
        ),
        width=8,
    )
    limit = t.number("host", "disk_io_saturation")
    board.add(
        timeseries_panel(
            "Disk saturation",
            "Average I/O queue: weighted I/O seconds per second (rate of "
            "node_disk_io_time_weighted_seconds_total), and I/Os in flight at the scrape "
            "(node_disk_io_now). The red line is NodeDiskIOSaturation's threshold.",
            "short",
            [
                query(rate("node_disk_io_time_weighted_seconds_total"), "queue {{device}}"),
                query(f"node_disk_io_now{{{SEL}}}", "in flight {{device}}"),
            ],
            thresholds=[(limit, RED)],
            minimum=0,
            runbooks=["NodeDiskIOSaturation"],
        ),
        width=8,
    )

    board.add(
        timeseries_panel(
            "Disk latency",
            "Average time per completed read and write (node_disk_read_time_seconds_total / "
            "node_disk_reads_completed_total, and the same for writes), queueing included. Gaps mean the "
            "device did no such operation in the interval.",
            "s",
            [
                query(
                    per_op("node_disk_read_time_seconds_total", "node_disk_reads_completed_total"),
                    "read {{device}}",
                ),
                query(
                    per_op("node_disk_write_time_seconds_total", "node_disk_writes_completed_total"),
                    "write {{device}}",
                ),
            ],
            minimum=0,
        ),
        width=8,
    )


def network(board: Board, t: Thresholds) -> None:
    board.row("Network")
    board.add(
        timeseries_panel(
            "Network traffic",
            "Bytes per second received (node_network_receive_bytes_total) and transmitted "
            "(node_network_transmit_bytes_total), per interface.",
            "Bps",
            [
                query(rate("node_network_receive_bytes_total"), "receive {{device}}"),
                query(rate("node_network_transmit_bytes_total"), "transmit {{device}}"),
            ],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Network packets",
            "Packets per second received (node_network_receive_packets_total) and transmitted "
            "(node_network_transmit_packets_total), per interface.",
            "pps",
            [
                query(rate("node_network_receive_packets_total"), "receive {{device}}"),
                query(rate("node_network_transmit_packets_total"), "transmit {{device}}"),
            ],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Network error ratio",
            "Errors per packet per interface, received (node_network_receive_errs_total / "
            "..._packets_total) and transmitted, what NodeNetworkReceiveErrs and NodeNetworkTransmitErrs "
            "watch (red line: their threshold), and over all interfaces "
            "(instance:node_network_errors:ratio_rate5m). Gaps: the interface moved no packets.",
            "percentunit",
            [
                query(
                    per_op("node_network_receive_errs_total", "node_network_receive_packets_total"),
                    "receive {{device}}",
                ),
                query(
                    per_op("node_network_transmit_errs_total", "node_network_transmit_packets_total"),
                    "transmit {{device}}",
                ),
                query(f"instance:node_network_errors:ratio_rate5m{{{SEL}}}", "all interfaces {{instance}}"),
            ],
            thresholds=[(t.ratio("host", "network_error_ratio"), RED)],
            minimum=0,
            runbooks=["NodeNetworkReceiveErrs", "NodeNetworkTransmitErrs"],
        ),
    )
    board.add(
        timeseries_panel(
            "Network errors and drops",
            "Packets per second that failed (node_network_{receive,transmit}_errs_total: bad frames, "
            "carrier losses, FIFO overruns all count here) or were dropped "
            "(node_network_{receive,transmit}_drop_total). Drops without errors usually mean full "
            "buffers: the host cannot keep up.",
            "pps",
            [
                query(rate(f"node_network_{direction}_{kind}_total"), f"{direction} {kind} {{{{device}}}}")
                for direction in ("receive", "transmit")
                for kind in ("errs", "drop")
            ],
            minimum=0,
            runbooks=["NodeNetworkReceiveErrs", "NodeNetworkTransmitErrs"],
        ),
    )
    speed = t.number("host", "network_fallback_speed_bytes")
    board.add(
        timeseries_panel(
            "Network utilisation",
            "The busier direction of the busiest interface over its link speed "
            "(instance:node_network_utilisation:rate5m, from node_network_*_bytes_total and "
            f"node_network_speed_bytes; interfaces that report no speed count as {speed * 8 / 1e9:g} Gbit/s, "
            "host.network_fallback_speed_bytes). The red line is the capacity planning target.",
            "percentunit",
            [query(f"instance:node_network_utilisation:rate5m{{{SEL}}}", "{{instance}}")],
            thresholds=[(t.ratio("capacity", "network_utilisation"), RED)],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        stat_panel(
            "Interfaces up",
            "Operational state of each interface (node_network_up: 1 when operstate is up) and its link "
            "speed (node_network_speed_bytes; -125000 when the device reports none, as virtual NICs do).",
            "short",
            [
                query(f'node_network_up{{{SEL},device!="lo"}}', "{{device}} up", instant=True),
                query(
                    f'node_network_speed_bytes{{{SEL},device!="lo"}} * 8', "{{device}} bit/s", instant=True
                ),
            ],
            thresholds=[(1, GREEN)],
            base=RED,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Carrier changes",
            "Link carrier changes per second, up and down (node_network_carrier_up_changes_total, "
            "node_network_carrier_down_changes_total): a flapping cable or NIC shows here before errors.",
            "short",
            [
                query(rate("node_network_carrier_up_changes_total"), "up {{device}}"),
                query(rate("node_network_carrier_down_changes_total"), "down {{device}}"),
            ],
            minimum=0,
        ),
        width=8,
    )


def process_groups(board: Board) -> None:
    board.row("Process groups")
    board.add(
        stat_panel(
            "Processes per group",
            "Processes in each named group (namedprocess_namegroup_num_procs; groups come from "
            "--collector.processes.*). A configured group with no process shows 0, in red: the service "
            "it names is not running.",
            "short",
            [query(f"namedprocess_namegroup_num_procs{{{SEL}}}", "{{groupname}}", instant=True)],
            thresholds=[(1, GREEN)],
            base=RED,
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Oldest process started",
            "When each group's oldest process started (namedprocess_namegroup_oldest_start_time_seconds): "
            "a recent time means the whole group restarted.",
            "dateTimeFromNow",
            [
                query(
                    f"namedprocess_namegroup_oldest_start_time_seconds{{{SEL}}} * 1000",
                    "{{groupname}}",
                    instant=True,
                )
            ],
            base="blue",
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Threads",
            "Threads across each group's processes (namedprocess_namegroup_num_threads).",
            "short",
            [query(f"namedprocess_namegroup_num_threads{{{SEL}}}", "{{groupname}}")],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Open file descriptors",
            "File descriptors open across each group's processes (namedprocess_namegroup_open_filedesc). "
            "A steady climb under steady load is a leak.",
            "short",
            [query(f"namedprocess_namegroup_open_filedesc{{{SEL}}}", "{{groupname}}")],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Group CPU by mode",
            "CPU seconds per second each group uses, user and system (rate of "
            "namedprocess_namegroup_cpu_seconds_total); 1 = one whole CPU, so it can pass 100 % on a "
            "multi-core host.",
            "percentunit",
            [
                query(
                    f"sum by (groupname, mode) ({rate('namedprocess_namegroup_cpu_seconds_total')})",
                    "{{groupname}} {{mode}}",
                )
            ],
            minimum=0,
            stacked=True,
        ),
    )
    board.add(
        timeseries_panel(
            "Group memory by type",
            "Resident, virtual and swapped memory summed over each group's processes "
            "(namedprocess_namegroup_memory_bytes by memtype). Resident is what costs RAM; shared pages "
            "count once per process, so the sum can exceed the real use.",
            "bytes",
            [query(f"namedprocess_namegroup_memory_bytes{{{SEL}}}", "{{groupname}} {{memtype}}")],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Group disk I/O",
            "Bytes per second each group reads from and writes to storage (rate of "
            "namedprocess_namegroup_read_bytes_total and namedprocess_namegroup_write_bytes_total).",
            "Bps",
            [
                query(rate("namedprocess_namegroup_read_bytes_total"), "read {{groupname}}"),
                query(rate("namedprocess_namegroup_write_bytes_total"), "write {{groupname}}"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Group page faults",
            "Page faults per second (rate of namedprocess_namegroup_major_page_faults_total, which read "
            "from disk, and ..._minor_page_faults_total, which do not). Sustained major faults mean the "
            "group does not fit in memory.",
            "ops",
            [
                query(rate("namedprocess_namegroup_major_page_faults_total"), "major {{groupname}}"),
                query(rate("namedprocess_namegroup_minor_page_faults_total"), "minor {{groupname}}"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Group context switches",
            "Context switches per second (rate of namedprocess_namegroup_context_switches_total) by type: "
            "voluntary (waiting for I/O or a lock) and nonvoluntary (preempted: CPU contention).",
            "ops",
            [
                query(
                    "sum by (groupname, ctxswitchtype) "
                    f"({rate('namedprocess_namegroup_context_switches_total')})",
                    "{{groupname}} {{ctxswitchtype}}",
                )
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Worst file descriptor usage",
            "The highest open-fds / fd-limit ratio among each group's processes "
            "(namedprocess_namegroup_worst_fd_ratio). At 100 % that process fails to open files or "
            "accept connections.",
            "percentunit",
            [query(f"namedprocess_namegroup_worst_fd_ratio{{{SEL}}}", "{{groupname}}")],
            minimum=0,
            maximum=1,
        ),
        width=6,
    )


def build() -> Board:
    """The Host dashboard."""
    t = load_thresholds()
    board = Board(
        DASHBOARDS["host"],
        "Host",
        "The host the stack runs on, by the USE method: utilisation, saturation and errors of CPU, "
        "memory, filesystems, disks and network, and the named process groups, from the host exporter.",
        [
            Variable("job", "label_values(node_uname_info, job)", default="exporter"),
            Variable("instance", 'label_values(node_uname_info{job="$job"}, instance)', include_all=True),
        ],
    )
    overview(board, t)
    cpu(board, t)
    memory(board, t)
    filesystems(board, t)
    disks(board, t)
    network(board, t)
    process_groups(board)
    return board
