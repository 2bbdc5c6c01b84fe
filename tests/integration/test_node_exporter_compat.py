"""Against the real node_exporter 1.5 on this host: the same families, types, labels, help and series.

Both run with the same collectors and with the two defaults Debian's package patches (netdev's
``^lo$`` and the filesystem mount-point exclude) passed explicitly, so both see the same devices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Process, binary, exporter_command, free_port, http_get, wait_for_url
from tests.node_exporter_anchor import FLAGS

pytestmark = pytest.mark.integration

# Families only one side has, and why.
ONLY_NODE_EXPORTER = {"node_exporter_build_info"}  # ours is y2s_exporter_build_info
ONLY_OURS = {"node_scrape_collector_timeouts", "y2s_exporter_build_info"}
SELF = ("go_", "process_", "promhttp_", "python_")


@dataclass
class Outputs:
    node_exporter: dict[str, Metric]
    ours: dict[str, Metric]


def _scrape(port: int) -> dict[str, Metric]:
    status, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    return {m.name: m for m in text_string_to_metric_families(body.decode()) if not m.name.startswith(SELF)}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    logs = tmp_path_factory.mktemp("compat")
    ne_port, our_port = free_port(), free_port()
    node_exporter = Process(
        [binary("prometheus-node-exporter"), *FLAGS, f"--web.listen-address=127.0.0.1:{ne_port}"],
        logs / "node_exporter.log",
    )
    ours = Process(exporter_command(*FLAGS, f"--web.listen-address=127.0.0.1:{our_port}"), logs / "ours.log")
    try:
        wait_for_url(f"http://127.0.0.1:{ne_port}/metrics", node_exporter)
        wait_for_url(f"http://127.0.0.1:{our_port}/metrics", ours)
        yield Outputs(_scrape(ne_port), _scrape(our_port))
    finally:
        node_exporter.stop()
        ours.stop()


def _series(metric: Metric) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(s.name, tuple(sorted(s.labels.items()))) for s in metric.samples}


def test_the_same_families_apart_from_the_listed_ones(outputs: Outputs) -> None:
    assert set(outputs.node_exporter) - set(outputs.ours) == ONLY_NODE_EXPORTER
    assert set(outputs.ours) - set(outputs.node_exporter) == ONLY_OURS


def test_shared_families_have_node_exporters_type_and_help(outputs: Outputs) -> None:
    for name in set(outputs.node_exporter) & set(outputs.ours):
        theirs, ours = outputs.node_exporter[name], outputs.ours[name]
        assert (ours.type, ours.documentation) == (theirs.type, theirs.documentation), name


def test_shared_families_have_the_same_series(outputs: Outputs) -> None:
    for name in set(outputs.node_exporter) & set(outputs.ours):
        assert _series(outputs.ours[name]) == _series(outputs.node_exporter[name]), name
