"""Metric families the exporter and the service publish that no dashboard shows, on purpose.

`tests/integration/test_dashboards_live.py` reads both ``/metrics`` pages and fails on a family that
is neither in a panel query (directly or through a recording rule) nor here, and on an entry here
that is not published (or, for an exact name, that a panel uses after all). A key is a family's
exposition name (the `# TYPE` name: counters with ``_total``), or a prefix ending in ``*`` for a set
whose members depend on the kernel (``/proc/meminfo`` fields, newer diskstats columns): a prefix
covers the published families with it that no panel uses. Keep it short: put a family on a
dashboard rather than here when someone would look at it.
"""

from __future__ import annotations

LEFT_OFF: dict[str, str] = {
    "node_cpu_guest_seconds_total": "guest time is already in user and nice (node-mixin leaves it off)",
    "node_disk_discard*": "discard counters (kernel 4.18+): TRIM detail, not this stack's load",
    "node_disk_flush*": "flush counters (kernel 5.5+): write-cache detail, not this stack's load",
    "node_disk_info": "device identity labels (major, minor): nothing to plot",
    "node_disk_reads_merged_total": "merge counts; completed I/Os and bytes are shown",
    "node_disk_writes_merged_total": "merge counts; completed I/Os and bytes are shown",
    "node_filesystem_free_bytes": "counts root-reserved blocks; panels show avail, as the alerts do",
    "node_memory_*": "the rest of /proc/meminfo (kernel-dependent), for ad-hoc queries",
    "node_network_address_assign_type": "how the MAC address was assigned: identity, nothing to plot",
    "node_network_carrier": "carrier present: node_network_up and the carrier changes are shown",
    "node_network_carrier_changes_total": "up and down changes are shown apart",
    "node_network_device_id": "port number on a multi-port card: identity",
    "node_network_dormant": "802.1X dormant state: not this stack's links",
    "node_network_flags": "IFF_* flag bits: identity, nothing to plot",
    "node_network_iface_id": "interface index: identity",
    "node_network_iface_link": "the interface it is linked to: identity",
    "node_network_iface_link_mode": "link mode (default or dormant): identity",
    "node_network_info": "address, duplex, operstate labels: identity, for ad-hoc queries",
    "node_network_mtu_bytes": "MTU: configuration, constant",
    "node_network_name_assign_type": "how the name was assigned: identity",
    "node_network_net_dev_group": "device group: configuration, constant",
    "node_network_protocol_type": "ARPHRD_* link type: identity",
    "node_network_receive_compressed_total": "compressed packets: CSLIP/PPP links only",
    "node_network_receive_fifo_total": "driver FIFO overruns: rare; errors and drops are shown",
    "node_network_receive_frame_total": "framing errors are counted in receive errors",
    "node_network_receive_multicast_total": "multicast packets: not this stack's traffic",
    "node_network_receive_nohandler_total": "packets no protocol wanted: not load",
    "node_network_transmit_carrier_total": "carrier losses are counted in transmit errors",
    "node_network_transmit_colls_total": "collisions: half-duplex links only",
    "node_network_transmit_compressed_total": "compressed packets: CSLIP/PPP links only",
    "node_network_transmit_fifo_total": "driver FIFO errors: rare; errors and drops are shown",
    "node_network_transmit_queue_length": "transmit queue length: configuration, constant",
    "node_time_clocksource_available_info": "clock sources on offer: identity, nothing to plot",
    "node_time_clocksource_current_info": "the clock source in use: identity, nothing to plot",
    "node_time_zone_offset_seconds": "the host's time zone: constant",
    "process_start_time_seconds": "the exporter's start: a restart shows as a gap in its panels",
    "promhttp_metric_handler_requests_in_flight": "the exporter's scrapes in flight: 1 while scraped",
    "promhttp_metric_handler_requests_total": "the exporter's scrapes by status: up and duration show it",
    "python_gc_collections_total": "the exporter's GC runs: interpreter detail",
    "python_gc_objects_collected_total": "the exporter's GC detail: its memory is shown",
    "python_gc_objects_uncollectable_total": "the exporter's GC detail: its memory is shown",
    "python_info": "the exporter's Python version: identity, nothing to plot",
    "y2s_exporter_build_info": "the exporter's version: identity, nothing to plot",
}
