"""Process-group rules in process-exporter's config format, and the quick ``NAME=REGEX`` form.

A rule matches a process by its comm, its executable (``cmdline[0]``, basename or full path) and
regexes searched in the space-joined cmdline (Python ``re`` syntax, named groups usable in the name);
all given matchers must match, and the first matching rule names the process. Names are templates
with ``{{.Comm}}``, ``{{.ExeBase}}``, ``{{.ExeFull}}`` and ``{{.Matches.NAME}}``, checked at load.
Every error is one line naming the file (or flag), the entry and field, and what was expected.

Example:
    >>> parse_group(r"api=uvicorn (?P<app>\\w+)").match("uvicorn", ["uvicorn", "y2s:app"])
    'api'
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import yaml

_KEYS = ("name", "comm", "exe", "cmdline")
_ACTION = re.compile(r"\{\{(.*?)\}\}")
_FIELD = re.compile(r"\s*\.(?:(Comm|ExeBase|ExeFull)|Matches\.(\w+))\s*")


class ConfigError(ValueError):
    """A bad process-group config, as one line naming the file or flag, the field and what was expected."""


@dataclass(frozen=True)
class Rule:
    """One ``process_names`` entry: all given matchers must match; ``name`` is the compiled template."""

    name: tuple[tuple[str, str], ...]
    comm: frozenset[str] | None = None
    exe: Mapping[str, str] | None = None  # basename -> full path, or "" for any path
    cmdline: tuple[re.Pattern[str], ...] = ()

    def match(self, comm: str, cmdline: Sequence[str]) -> str | None:
        """The group name for a process, or ``None`` (process-exporter's matching and templates)."""
        if self.comm is not None and comm not in self.comm:
            return None
        exefull = cmdline[0] if cmdline else comm
        exebase = posixpath.basename(exefull) if cmdline else comm
        if self.exe is not None:
            want = self.exe.get(exebase) if cmdline else None
            if want is None or (want and want != exefull):
                return None
        matches: dict[str, str] = {}
        joined = " ".join(cmdline)
        for rx in self.cmdline:
            m = rx.search(joined)
            if m is None:
                return None
            matches.update((k, v or "") for k, v in m.groupdict().items())
        fields = {"Comm": comm, "ExeBase": exebase, "ExeFull": exefull}
        return "".join(
            v if not k else matches.get(v, "") if k == "Matches" else fields[k] for k, v in self.name
        )


def _compile_name(template: str, groups: Iterable[str], where: str) -> tuple[tuple[str, str], ...]:
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(template):
        parts.append(("", template[pos : m.start()]))
        field = _FIELD.fullmatch(m[1])
        if field is None:
            raise ConfigError(
                f"{where}: unsupported template {m[0]!r} "
                "(expected {{.Comm}}, {{.ExeBase}}, {{.ExeFull}} or {{.Matches.NAME}})"
            )
        if field[2] is not None and field[2] not in groups:
            raise ConfigError(f"{where}: {m[0]!r}: no cmdline regex has a group named {field[2]!r}")
        parts.append((field[1] or "Matches", field[2] or ""))
        pos = m.end()
    parts.append(("", template[pos:]))
    if any("{{" in v for k, v in parts if not k):
        raise ConfigError(f"{where}: unterminated '{{{{' in {template!r}")
    return tuple(p for p in parts if p != ("", ""))


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regex {pattern!r}: {exc.msg}") from None


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a non-empty list of non-empty strings")
    return value


def _parse_entry(entry: object, where: str) -> Rule:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with name, comm, exe or cmdline")
    for key in entry:
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (expected name, comm, exe or cmdline)")
    if not any(k in entry for k in _KEYS[1:]):
        raise ConfigError(f"{where}: expected at least one of comm, exe or cmdline")
    name = entry.get("name", "{{.ExeBase}}")  # process-exporter's default when the key is absent
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: expected a non-empty string")
    comm = frozenset(_strings(entry["comm"], f"{where}.comm")) if "comm" in entry else None
    exe = None
    if "exe" in entry:
        exe = {posixpath.basename(e): e if "/" in e else "" for e in _strings(entry["exe"], f"{where}.exe")}
    patterns = tuple(
        _regex(p, f"{where}.cmdline[{j}]")
        for j, p in enumerate(_strings(entry["cmdline"], f"{where}.cmdline") if "cmdline" in entry else [])
    )
    groups = {g for p in patterns for g in p.groupindex}
    return Rule(_compile_name(name, groups, f"{where}.name"), comm, exe, patterns)


def parse_config(data: object, source: str) -> list[Rule]:
    """Validate a loaded process-exporter config (``{"process_names": [...]}``) into rules.

    Args:
        data: the YAML document as loaded.
        source: the file name, used as the prefix of error messages.
    """
    if not isinstance(data, dict) or "process_names" not in data:
        raise ConfigError(f"{source}: expected a mapping with the key process_names")
    for key in data:
        if key != "process_names":
            raise ConfigError(f"{source}: unknown key {key!r} (expected process_names)")
    entries = data["process_names"]
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: process_names: expected a list of entries")
    return [_parse_entry(e, f"{source}: process_names[{i}]") for i, e in enumerate(entries)]


def load_config(path: str) -> list[Rule]:
    """Read and validate a process-exporter YAML file; raises ``ConfigError`` with one line."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid YAML: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(problem).split())}{where}") from None
    return parse_config(data, path)


def parse_group(value: str) -> Rule:
    """Turn the quick form ``NAME=REGEX`` (REGEX searched in the joined cmdline) into a rule."""
    where = f"--collector.processes.group {value!r}"
    name, sep, pattern = value.partition("=")
    if not sep or not name.strip() or not pattern:
        raise ConfigError(f"{where}: expected NAME=REGEX")
    rx = _regex(pattern, where)
    return Rule(_compile_name(name, rx.groupindex, where), cmdline=(rx,))
