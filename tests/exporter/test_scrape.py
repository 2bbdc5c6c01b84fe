"""The scraper: collectors fail alone, overruns hit the deadline, stuck collectors don't pile up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from exporter._families import Family
from exporter.scrape import Scraper
from tests.exporter.fakes import Broken, Const, Hanging


def _value(families: list[Family], name: str, label: str) -> float:
    fam = next(f for f in families if f.name == name)
    return dict((v[0], x) for v, x in fam.samples)[label]


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    h = Hanging()
    yield h
    h.release.set()


def test_raising_collector_reports_failure_and_others_still_answer() -> None:
    scraper = Scraper({"ok": Const(), "broken": Broken()}, timeout=2)
    out = scraper.scrape()
    assert next(f.name for f in out) == "node_ok"
    assert _value(out, "node_scrape_collector_success", "broken") == 0
    assert _value(out, "node_scrape_collector_success", "ok") == 1
    scraper.close()


def test_hanging_collector_times_out_within_the_deadline(hanging: Hanging) -> None:
    scraper = Scraper({"ok": Const(), "hang": hanging}, timeout=0.3)
    start = time.perf_counter()
    out = scraper.scrape()
    assert time.perf_counter() - start < 0.6
    assert _value(out, "node_scrape_collector_success", "hang") == 0
    assert _value(out, "node_scrape_collector_timeouts_total", "hang") == 1
    assert _value(out, "node_scrape_collector_success", "ok") == 1
    scraper.close()


def test_stuck_collector_is_not_started_again_until_it_returns(hanging: Hanging) -> None:
    scraper = Scraper({"hang": hanging}, timeout=0.1)
    scraper.scrape()
    out = scraper.scrape()
    assert hanging.started == 1
    assert _value(out, "node_scrape_collector_timeouts_total", "hang") == 2
    hanging.release.set()
    time.sleep(0.1)
    hanging.release.clear()
    scraper.scrape()
    assert hanging.started == 2
    scraper.close()


def test_subset_runs_only_the_named_collectors() -> None:
    a, b = Const("node_a"), Const("node_b")
    scraper = Scraper({"a": a, "b": b}, timeout=1)
    out = scraper.scrape(["b"])
    assert (a.calls, b.calls) == (0, 1)
    assert [s[0] for s in next(f for f in out if f.name == "node_scrape_collector_success").samples] == [
        ("b",)
    ]
    scraper.close()


def test_concurrent_scrapes_share_one_collection() -> None:
    gate = threading.Event()

    class Slow(Const):
        def collect(self) -> Iterator[Family]:
            gate.wait(5)
            yield from super().collect()

    slow = Slow()
    scraper = Scraper({"slow": slow}, timeout=5)
    results: list[list[Family]] = []
    threads = [threading.Thread(target=lambda: results.append(scraper.scrape())) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert slow.calls == 1
    assert len(results) == 4
    scraper.close()


def test_unknown_names_are_reported() -> None:
    scraper = Scraper({"ok": Const()}, timeout=1)
    assert scraper.unknown(["ok", "nope", "zz"]) == ["nope", "zz"]
    scraper.close()
