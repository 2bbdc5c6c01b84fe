"""The collector registry: registration, flag defaults, and what every registered collector yields."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import exporter.collectors
from exporter._families import Family
from exporter.collectors import COLLECTORS, CollectorSpec, Flag, Settings, register_collector
from exporter.collectors.filesystem import FS_TYPES_EXCLUDE
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
FIXTURE_PATHS = Paths(procfs=str(FIXTURES / "proc"), sysfs=str(FIXTURES / "sys"), rootfs=str(FIXTURES))
PREFIXES = ("node_", "namedprocess_")


class Example:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Example:
        return cls(settings)

    def collect(self) -> list[Family]:
        return []


@pytest.fixture
def registry() -> Iterator[dict[str, CollectorSpec]]:
    """The global registry, restored after the test so that test registrations don't leak."""
    saved = dict(COLLECTORS)
    yield COLLECTORS
    COLLECTORS.clear()
    COLLECTORS.update(saved)


def collect(name: str) -> list[Family]:
    return list(COLLECTORS[name].factory(Settings(paths=FIXTURE_PATHS)).collect())


def test_register_collector_records_the_spec(registry: dict[str, CollectorSpec]) -> None:
    flag = Flag("example.level", default=3, help="How much.")
    register_collector("example", default_enabled=False, help="An example.", flags=[flag])(Example)
    spec = registry["example"]
    assert (spec.name, spec.default_enabled, spec.help, spec.flags) == (
        "example",
        False,
        "An example.",
        (flag,),
    )
    assert isinstance(spec.factory(Settings()), Example)


def test_register_collector_returns_the_class(registry: dict[str, CollectorSpec]) -> None:
    assert register_collector("example", help="An example.")(Example) is Example


def test_register_collector_refuses_a_duplicate_name(registry: dict[str, CollectorSpec]) -> None:
    register_collector("example", help="First.")(Example)
    with pytest.raises(ValueError, match="'example' registered twice"):
        register_collector("example", help="Second.")(Example)
    assert registry["example"].help == "First."


def test_register_collector_refuses_an_existing_collectors_name(registry: dict[str, CollectorSpec]) -> None:
    before = registry["cpu"]
    with pytest.raises(ValueError, match="registered twice"):
        register_collector("cpu", help="Impostor.")(Example)
    assert registry["cpu"] is before


def test_flag_given_value_wins() -> None:
    assert Settings(flags={"stat.softirq": True}).flag("stat.softirq") is True


def test_flag_falls_back_to_the_declared_default(registry: dict[str, CollectorSpec]) -> None:
    register_collector("example", help="An example.", flags=[Flag("example.level", 3, "How much.")])(Example)
    assert Settings().flag("example.level") == 3


def test_flag_falls_back_to_a_real_collectors_default() -> None:
    assert Settings().flag("filesystem.fs-types-exclude") == FS_TYPES_EXCLUDE
    assert Settings().flag("stat.softirq") is False


def test_flag_declared_default_beats_the_callers_default() -> None:
    assert Settings().flag("stat.softirq", default=True) is False


def test_unknown_flag_falls_back_to_the_callers_default() -> None:
    assert Settings().flag("nosuch.flag") is None
    assert Settings().flag("nosuch.flag", default="x") == "x"


def test_every_collector_module_registers_under_its_name() -> None:
    modules = {
        m.name for m in pkgutil.iter_modules(exporter.collectors.__path__) if not m.name.startswith("_")
    }
    assert modules
    assert modules <= set(COLLECTORS)


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_every_collector_has_a_one_line_help_text(name: str) -> None:
    text = COLLECTORS[name].help
    assert text.strip()
    assert "\n" not in text


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_every_flag_belongs_to_its_collector_and_has_help(name: str) -> None:
    for flag in COLLECTORS[name].flags:
        assert flag.name.startswith(f"{name}.")
        assert flag.help.strip()


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_every_collector_builds_from_fixture_paths_with_prefixed_names(name: str) -> None:
    names = [fam.name for fam in collect(name)]
    assert all(n.startswith(PREFIXES) for n in names), names


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_counters_end_in_total_and_only_counters_do(name: str) -> None:
    for fam in collect(name):
        assert (fam.kind == "counter") == fam.name.endswith("_total"), fam


@pytest.mark.parametrize("name", sorted(COLLECTORS))
def test_every_collector_yields_each_family_once(name: str) -> None:
    names = [fam.name for fam in collect(name)]
    assert len(names) == len(set(names))


def test_fixture_host_collectors_yield_samples() -> None:
    # processes yields nothing without configured groups; every other collector reads the fixtures.
    empty = [name for name in sorted(COLLECTORS) if not any(fam.samples for fam in collect(name))]
    assert empty == ["processes"]
