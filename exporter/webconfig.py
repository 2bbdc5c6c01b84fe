"""The exporter-toolkit ``web-config.yml`` that ``--web.config.file`` takes: TLS, basic auth, headers.

The same file works for node_exporter and for this exporter. Validation is strict, as exporter-toolkit's
is: an unknown or repeated key, a wrong type or a bad value anywhere stops the exporter at start with one
line ``<file>: <field>: <what was expected>``. Certificates and keys are loaded at load time, so a broken
file shows at start, not at the first scrape. Relative paths are relative to the config file's folder.

Differences from exporter-toolkit (Go), all refused or documented rather than silently weakened:

- ``tls_server_config``: see ``exporter._webtls`` (``RequireAnyClientCert`` is refused,
  ``curve_preferences`` is checked but not applied, TLS 1.3 cipher names change nothing). A
  ``tls_server_config`` that sets anything needs ``cert_file`` and ``key_file``, where Go would
  quietly serve plain HTTP; the inline ``cert``/``key``/``client_ca`` and ``client_allowed_sans`` of
  newer exporter-toolkit releases are refused with a pointer to what to use instead.
- ``http_server_config.http2`` is accepted and has no effect: the server speaks HTTP/1.1 only.
- ``rate_limit`` (newer exporter-toolkit) is refused; ``--web.max-requests`` bounds concurrent scrapes.
- The file is read once at start; exporter-toolkit rereads it on every request.

Example:
    config = load_web_config("web-config.yml")  # raises WebConfigError
    context = config.ssl_context()  # None without TLS
    auth = config.authenticator()  # None without users
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from exporter._basicauth import BasicAuth, parse_bcrypt_hash
from exporter._webtls import TLSConfig, TLSSetupError, build_context, check_settings

__all__ = ["BasicAuth", "TLSConfig", "WebConfig", "WebConfigError", "load_web_config"]

# Headers exporter-toolkit lets a config set, with the values it allows (None: any value).
ALLOWED_HEADERS: dict[str, tuple[str, ...] | None] = {
    "Content-Security-Policy": None,
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
}
_TLS_KEYS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version")
_TLS_LISTS = ("cipher_suites", "curve_preferences")
_REFUSED = {
    "rate_limit": "not supported by this exporter; --web.max-requests bounds concurrent scrapes",
    "tls_server_config.cert": "inline certificates are not supported; use cert_file",
    "tls_server_config.key": "inline keys are not supported; use key_file",
    "tls_server_config.client_ca": "an inline client CA is not supported; use client_ca_file",
    "tls_server_config.client_allowed_sans": "not supported by this exporter; give the allowed clients "
    "their own CA and use client_ca_file with RequireAndVerifyClientCert",
}


class WebConfigError(ValueError):
    """A web config that cannot be used; the message is one line: ``<file>: <field>: <problem>``."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (Go's yaml.UnmarshalStrict does too)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            continue  # unhashable keys fail in construct_mapping with their own message
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class WebConfig:
    """A loaded web config. Build it with `load_web_config`.

    Args:
        tls: the TLS settings, or None to serve plain HTTP.
        basic_auth_users: user name -> bcrypt hash (already checked to be a usable bcrypt hash).
        headers: extra headers for every response (``http_server_config.headers``).
        http2: ``http_server_config.http2`` as written; HTTP/2 is never served.
        source: the file it came from, for error messages.
    """

    tls: TLSConfig | None = None
    basic_auth_users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    http2: bool = True
    source: str = "<web config>"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A fresh server-side context (files are read again), or None without TLS; raises WebConfigError."""
        if self.tls is None:
            return None
        try:
            return build_context(self.tls)
        except TLSSetupError as exc:
            raise WebConfigError(f"{self.source}: tls_server_config.{exc.field}: {exc}") from None

    def authenticator(self) -> BasicAuth | None:
        """A basic-auth checker for ``basic_auth_users``, or None when no user is configured."""
        return BasicAuth(self.basic_auth_users) if self.basic_auth_users else None


class _Reader:
    """Type checks that name the file and the field in their errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> WebConfigError:
        return WebConfigError(f"{self.source}: {where}: {' '.join(problem.split())}")

    def mapping(self, value: object, where: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(f"{where}.{key!r}", f"expected a string key (quote it), got {_kind(key)}")
            path = f"{where}.{key}" if where != "top level" else key
            if path in _REFUSED:
                raise self.error(path, _REFUSED[path])
            if allowed is not None and key not in allowed:
                raise self.error(path, f"unknown field; expected one of {', '.join(allowed)}")
        return value

    def string(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(where, f"expected a non-empty string, got {_kind(value)}")
        return value

    def boolean(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(where, f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, value: object, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(where, f"expected a list of strings, got {_kind(value)}")
        return tuple(self.string(item, f"{where}[{i}]") for i, item in enumerate(value))


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {value!r}"


def _parse_tls(r: _Reader, value: object, base_dir: str) -> TLSConfig | None:
    allowed = (*_TLS_KEYS, *_TLS_LISTS, "prefer_server_cipher_suites")
    section = r.mapping(value, "tls_server_config", allowed)
    if not section:
        return None
    for required in ("cert_file", "key_file"):
        if required not in section:
            raise r.error(f"tls_server_config.{required}", "required when tls_server_config sets anything")

    def text(key: str, default: str) -> str:
        return r.string(section[key], f"tls_server_config.{key}") if key in section else default

    def lst(key: str) -> tuple[str, ...]:
        return r.strings(section.get(key), f"tls_server_config.{key}")

    ca = text("client_ca_file", "")
    prefer = section.get("prefer_server_cipher_suites", True)
    tls = TLSConfig(
        cert_file=os.path.join(base_dir, text("cert_file", "")),
        key_file=os.path.join(base_dir, text("key_file", "")),
        client_auth_type=text("client_auth_type", "NoClientCert"),
        client_ca_file=os.path.join(base_dir, ca) if ca else None,
        min_version=text("min_version", "TLS12"),
        max_version=text("max_version", "TLS13"),
        cipher_suites=lst("cipher_suites"),
        prefer_server_cipher_suites=r.boolean(prefer, "tls_server_config.prefer_server_cipher_suites"),
        curve_preferences=lst("curve_preferences"),
    )
    try:
        check_settings(tls)
    except TLSSetupError as exc:
        raise r.error(f"tls_server_config.{exc.field}", str(exc)) from None
    return tls


def _parse_headers(r: _Reader, value: object) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, given in r.mapping(value, "http_server_config.headers", None).items():
        where = f"http_server_config.headers.{name}"
        if name not in ALLOWED_HEADERS:
            hint = next((f"; did you mean {n}?" for n in ALLOWED_HEADERS if n.lower() == name.lower()), "")
            raise r.error(
                where,
                f"this header can not be configured (exporter-toolkit allows "
                f"{', '.join(ALLOWED_HEADERS)}){hint}",
            )
        raw = "" if given is None else given
        if not isinstance(raw, str) or any(ord(c) < 32 or ord(c) == 127 for c in raw):
            raise r.error(where, f"expected a one-line string value, got {_kind(raw)}")
        allowed = ALLOWED_HEADERS[name]
        if allowed is not None and raw not in allowed:
            raise r.error(where, f"expected one of {', '.join(allowed)}, got {raw!r}")
        if raw:  # blank means unset, as exporter-toolkit documents
            headers[name] = raw
    return headers


def _parse_users(r: _Reader, value: object) -> dict[str, str]:
    users: dict[str, str] = {}
    for name, hashed in r.mapping(value, "basic_auth_users", None).items():
        where = f"basic_auth_users.{name}"
        if not name:
            raise r.error("basic_auth_users", "a user name is empty")
        if ":" in name:
            raise r.error(where, "a user name cannot contain ':' (basic auth splits user and password there)")
        if not isinstance(hashed, str):
            raise r.error(where, f"expected a bcrypt hash string, got {type(hashed).__name__}")
        try:
            parse_bcrypt_hash(hashed)
        except ValueError as exc:
            raise r.error(where, str(exc)) from None
        users[name] = hashed
    return users


def load_web_config(path: str) -> WebConfig:
    """Read and check a web config file, loading its certificates; raises WebConfigError.

    An empty file is valid and means plain HTTP without auth, as in exporter-toolkit.
    """
    r = _Reader(path)
    try:
        with open(path, "rb") as f:
            data = yaml.load(f, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        raise r.error("file", f"cannot read: {exc.strerror or exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise r.error(where, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise r.error("file", f"not valid YAML: {exc}") from None
    top = r.mapping(data, "top level", ("tls_server_config", "http_server_config", "basic_auth_users"))
    http = r.mapping(top.get("http_server_config"), "http_server_config", ("http2", "headers"))
    config = WebConfig(
        tls=_parse_tls(r, top.get("tls_server_config"), os.path.dirname(os.path.abspath(path))),
        basic_auth_users=MappingProxyType(_parse_users(r, top.get("basic_auth_users"))),
        headers=MappingProxyType(_parse_headers(r, http.get("headers"))),
        http2=r.boolean(http.get("http2", True), "http_server_config.http2"),
        source=path,
    )
    config.ssl_context()  # load the certificates now, so that a broken file fails at start
    return config
