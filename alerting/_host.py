"""Host rules: node-mixin's recording rules and alerts, on the exporter's node_* metrics."""

from __future__ import annotations

from ._config import Thresholds
from ._model import PERCENT, Alert, Group, Record, label

HOST = 'job="exporter"'
FS = f'{HOST},fstype!=""'
NET = f'{HOST},device!="lo"'


def _pct(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def groups(t: Thresholds) -> list[Group]:
    """`host.rules.yml`: CPU, memory, filesystem, disk and network."""
    cpu = t.ratio("host", "cpu_utilisation")
    cpu_for = t.duration("host", "cpu_for")
    mem = t.ratio("host", "memory_utilisation")
    mem_for = t.duration("host", "memory_for")
    net = t.ratio("host", "network_error_ratio")
    net_for = t.duration("host", "network_errors_for")
    io = t.number("host", "disk_io_saturation")
    io_for = t.duration("host", "disk_io_saturation_for")
    speed = t.number("host", "network_fallback_speed_bytes")
    fill_for = t.duration("host", "filesystem_filling_for")
    full_for = t.duration("host", "filesystem_almost_full_for")
    inodes_for = t.duration("host", "inodes_for")

    records = [
        Record(
            "instance:node_cpu_utilisation:rate5m",
            f"""
            1 - avg without (cpu) (
              sum without (mode) (rate(node_cpu_seconds_total{{{HOST},mode=~"idle|iowait|steal"}}[5m]))
            )""",
        ),
        Record(
            "instance:node_load1_per_cpu:ratio",
            f"""
            node_load1{{{HOST}}}
            / on (job, instance) count by (job, instance) (node_cpu_seconds_total{{{HOST},mode="idle"}})""",
        ),
        Record(
            "instance:node_memory_utilisation:ratio",
            f"1 - node_memory_MemAvailable_bytes{{{HOST}}} / node_memory_MemTotal_bytes{{{HOST}}}",
        ),
        # NaN where there is no swap at all (0 / 0): "swap in use" is then never true.
        Record(
            "instance:node_memory_swap_utilisation:ratio",
            f"1 - node_memory_SwapFree_bytes{{{HOST}}} / node_memory_SwapTotal_bytes{{{HOST}}}",
        ),
        Record(
            "instance:node_filesystem_utilisation:ratio",
            f"1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}",
        ),
        Record(
            "instance:node_filesystem_files_utilisation:ratio",
            f"1 - node_filesystem_files_free{{{FS}}} / node_filesystem_files{{{FS}}}",
        ),
        Record(
            "instance:node_network_errors:ratio_rate5m",
            f"""
            (
                sum without (device) (rate(node_network_receive_errs_total{{{HOST}}}[5m]))
              + sum without (device) (rate(node_network_transmit_errs_total{{{HOST}}}[5m]))
            )
            / (
                sum without (device) (rate(node_network_receive_packets_total{{{HOST}}}[5m]))
              + sum without (device) (rate(node_network_transmit_packets_total{{{HOST}}}[5m]))
            )""",
        ),
        # The busier direction of the busiest device over its link speed (full duplex: each direction
        # has the whole speed). Devices that report no speed (virtual NICs: -1) get the fallback.
        Record(
            "instance:node_network_utilisation:rate5m",
            f"""
            max without (device) (
              (
                  rate(node_network_receive_bytes_total{{{NET}}}[5m])
                > rate(node_network_transmit_bytes_total{{{NET}}}[5m])
                or
                  rate(node_network_transmit_bytes_total{{{NET}}}[5m])
              )
              / on (job, instance, device) (
                  node_network_speed_bytes{{{NET}}} > 0
                or on (job, instance, device)
                  0 * node_network_receive_bytes_total{{{NET}}} + {speed:.0f}
              )
            )""",
        ),
    ]

    def filling(severity: str, free: float, hours: int) -> Alert:
        return Alert(
            "NodeFilesystemSpaceFillingUp",
            f"""
            (
              node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}} < {free:g}
            and
              predict_linear(node_filesystem_avail_bytes{{{FS}}}[6h], {hours} * 60 * 60) < 0
            and
              node_filesystem_readonly{{{FS}}} == 0
            )""",
            fill_for,
            "critical" if severity == "critical" else "warning",
            "Filesystem is predicted to run out of space soon.",
            f"Filesystem {label('mountpoint')} ({label('device')}) on {label('instance')} "
            f"has only {PERCENT} free (threshold {_pct(free)}) and is predicted "
            f"to fill up within {hours} hours.",
            "host",
        )

    def almost_full(
        *, name: str, what: str, free_metric: str, total_metric: str, section: str, for_: str
    ) -> list[Alert]:
        out = []
        for severity in ("warning", "critical"):
            free = t.ratio("host", f"{section}_almost_full_{severity}_free")
            out.append(
                Alert(
                    name,
                    f"""
                    (
                      {free_metric}{{{FS}}} / {total_metric}{{{FS}}} < {free:g}
                    and
                      node_filesystem_readonly{{{FS}}} == 0
                    )""",
                    for_,
                    "critical" if severity == "critical" else "warning",
                    f"Filesystem has less than {_pct(free)} {what} left.",
                    f"Filesystem {label('mountpoint')} ({label('device')}) on "
                    f"{label('instance')} has only {PERCENT} of its {what} "
                    f"free.",
                    "host",
                )
            )
        return out

    alerts = [
        Alert(
            "NodeCPUHighUsage",
            f"instance:node_cpu_utilisation:rate5m{{{HOST}}} > {cpu:g}",
            cpu_for,
            "warning",
            "High CPU usage.",
            f"CPU on {label('instance')} has been {PERCENT} busy for more "
            f"than {cpu_for} (threshold {_pct(cpu)}).",
            "host",
        ),
        Alert(
            "NodeMemoryHighUtilization",
            f"""
            instance:node_memory_utilisation:ratio{{{HOST}}} > {mem:g}
            and on (job, instance)
            instance:node_memory_swap_utilisation:ratio{{{HOST}}} > 0""",
            mem_for,
            "warning",
            "Host is running out of memory and swapping.",
            f"Memory on {label('instance')} is {PERCENT} used (threshold {_pct(mem)}) and swap is in use.",
            "host",
        ),
        filling(
            "warning",
            t.ratio("host", "filesystem_filling_warning_free"),
            int(t.number("host", "filesystem_filling_warning_hours")),
        ),
        filling(
            "critical",
            t.ratio("host", "filesystem_filling_critical_free"),
            int(t.number("host", "filesystem_filling_critical_hours")),
        ),
        *almost_full(
            name="NodeFilesystemAlmostOutOfSpace",
            what="space",
            free_metric="node_filesystem_avail_bytes",
            total_metric="node_filesystem_size_bytes",
            section="filesystem",
            for_=full_for,
        ),
        *almost_full(
            name="NodeFilesystemAlmostOutOfFiles",
            what="inodes",
            free_metric="node_filesystem_files_free",
            total_metric="node_filesystem_files",
            section="inodes",
            for_=inodes_for,
        ),
        Alert(
            "NodeFilesystemDeviceError",
            f"node_filesystem_device_error{{{FS}}} == 1",
            t.duration("host", "device_error_for"),
            "warning",
            "Filesystem cannot be read.",
            "The exporter cannot read filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) on "
            "{{ $labels.instance }}: statfs fails.",
            "host",
        ),
        Alert(
            "NodeDiskIOSaturation",
            f"rate(node_disk_io_time_weighted_seconds_total{{{HOST}}}[5m]) > {io:g}",
            io_for,
            "warning",
            "Disk I/O queue is saturated.",
            f"Disk {label('device')} on {label('instance')} has had an average queue of "
            f'{{{{ $value | printf "%.1f" }}}} requests for {io_for} (threshold {io:g}).',
            "host",
        ),
        *(
            Alert(
                f"NodeNetwork{direction.title()}Errs",
                f"""
                rate(node_network_{direction}_errs_total{{{HOST}}}[5m])
                / rate(node_network_{direction}_packets_total{{{HOST}}}[5m]) > {net:g}""",
                net_for,
                "warning",
                f"Network interface is reporting many {direction} errors.",
                f"{label('device')} on {label('instance')} has seen "
                f"{PERCENT} of its {direction} packets fail for {net_for} "
                f"(threshold {_pct(net)}).",
                "host",
            )
            for direction in ("receive", "transmit")
        ),
    ]
    return [Group("host.recording", records), Group("host.alerts", alerts)]
