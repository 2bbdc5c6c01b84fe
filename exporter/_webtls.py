"""``tls_server_config`` of the web config, and the server-side ``ssl.SSLContext`` built from it.

How exporter-toolkit's Go settings map onto Python's ``ssl``:

- ``client_auth_type``: ``NoClientCert`` and ``RequestClientCert`` -> ``CERT_NONE`` (Python cannot ask
  for a certificate without verifying it; a requested but unchecked certificate proves nothing, so not
  asking lets in exactly the same clients); ``VerifyClientCertIfGiven`` -> ``CERT_OPTIONAL``;
  ``RequireAndVerifyClientCert`` -> ``CERT_REQUIRED``. ``RequireAnyClientCert`` (and its old alias
  ``RequireClientCert``) is refused: Python cannot require a certificate without verifying it, and
  quietly accepting every client would be weaker than what the file asks for.
- ``min_version``/``max_version``: ``TLS10`` to ``TLS13``. OpenSSL's security level may still refuse
  TLS 1.0 and 1.1 (Debian's default level does).
- ``cipher_suites``: the Go names of ``tls.CipherSuites()`` for TLS 1.0-1.2, mapped to OpenSSL names;
  the TLS 1.3 names are accepted and, as in Go, change nothing (TLS 1.3 suites are not configurable).
- ``curve_preferences``: the names are checked as exporter-toolkit does, but not applied: Python 3.11's
  ``ssl`` can set one ECDH curve, not a preference list, so OpenSSL's default groups are used.
- ALPN offers ``http/1.1`` only: HTTP/2 is not served.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

CLIENT_AUTH_TYPES: dict[str, ssl.VerifyMode | None] = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_NONE,
    "RequireAnyClientCert": None,  # None: not possible with Python's ssl, refused
    "RequireClientCert": None,  # exporter-toolkit's old name for RequireAnyClientCert
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# Go's tls.CipherSuites() (the ones Go does not call insecure) -> OpenSSL names; "" marks TLS 1.3 suites.
CIPHER_SUITES = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256": "",
    "TLS_AES_256_GCM_SHA384": "",
    "TLS_CHACHA20_POLY1305_SHA256": "",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
CURVES = ("CurveP256", "CurveP384", "CurveP521", "X25519")


class TLSSetupError(ValueError):
    """A bad TLS setting; ``field`` names it inside ``tls_server_config``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TLSConfig:
    """``tls_server_config``, with file paths already joined to the config file's folder.

    Example:
        >>> TLSConfig(cert_file="/etc/exporter/tls.crt", key_file="/etc/exporter/tls.key").min_version
        'TLS12'
    """

    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: tuple[str, ...] = ()


def _expected(names: Iterable[str]) -> str:
    return "expected one of " + ", ".join(names)


def check_settings(tls: TLSConfig) -> None:
    """Check the names and their combinations, without touching any file; raises TLSSetupError."""
    if tls.client_auth_type not in CLIENT_AUTH_TYPES:
        raise TLSSetupError(
            "client_auth_type", f"unknown {tls.client_auth_type!r}; {_expected(CLIENT_AUTH_TYPES)}"
        )
    mode = CLIENT_AUTH_TYPES[tls.client_auth_type]
    if mode is None:
        raise TLSSetupError(
            "client_auth_type",
            f"{tls.client_auth_type} is not supported: Python's ssl cannot require a client certificate "
            "without verifying it; use RequireAndVerifyClientCert with client_ca_file",
        )
    if mode != ssl.CERT_NONE and tls.client_ca_file is None:
        raise TLSSetupError("client_ca_file", f"required with client_auth_type {tls.client_auth_type}")
    if tls.client_ca_file is not None and tls.client_auth_type == "NoClientCert":
        raise TLSSetupError(
            "client_ca_file", "set, but client_auth_type is NoClientCert; set client_auth_type too"
        )
    for field in ("min_version", "max_version"):
        if getattr(tls, field) not in TLS_VERSIONS:
            raise TLSSetupError(
                field, f"unknown TLS version {getattr(tls, field)!r}; {_expected(TLS_VERSIONS)}"
            )
    if TLS_VERSIONS[tls.min_version] > TLS_VERSIONS[tls.max_version]:
        raise TLSSetupError("min_version", f"{tls.min_version} is above max_version {tls.max_version}")
    for i, name in enumerate(tls.cipher_suites):
        if name not in CIPHER_SUITES:
            raise TLSSetupError(
                f"cipher_suites[{i}]", f"unknown or insecure {name!r}; {_expected(CIPHER_SUITES)}"
            )
    for i, name in enumerate(tls.curve_preferences):
        if name not in CURVES:
            raise TLSSetupError(f"curve_preferences[{i}]", f"unknown curve {name!r}; {_expected(CURVES)}")


def _read_pem(field: str, path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise TLSSetupError(field, f"cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise TLSSetupError(
            field, f"{path!r} is not a PEM file (binary content; DER is not accepted)"
        ) from None


def _load_certs(field: str, path: str, text: str, ctx: ssl.SSLContext) -> None:
    try:
        ctx.load_verify_locations(cadata=text)
    except ssl.SSLError:
        raise TLSSetupError(
            field, f"{path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None


class _EncryptedKeyError(Exception):
    pass


def _refuse_password() -> str:
    raise _EncryptedKeyError  # OpenSSL asks for a password only for an encrypted key


def _load_key_pair(ctx: ssl.SSLContext, tls: TLSConfig) -> None:
    _load_certs(
        "cert_file",
        tls.cert_file,
        _read_pem("cert_file", tls.cert_file),
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
    )
    if "PRIVATE KEY-----" not in _read_pem("key_file", tls.key_file):
        raise TLSSetupError(
            "key_file", f"{tls.key_file!r} holds no PEM private key (-----BEGIN PRIVATE KEY-----)"
        )
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file, password=_refuse_password)
    except _EncryptedKeyError:
        raise TLSSetupError(
            "key_file", f"{tls.key_file!r} is encrypted; an unencrypted key is needed"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TLSSetupError(
                "key_file", f"{tls.key_file!r} does not match the certificate in cert_file"
            ) from None
        raise TLSSetupError("key_file", f"{tls.key_file!r} cannot be loaded: {exc.reason or exc}") from None


def build_context(tls: TLSConfig) -> ssl.SSLContext:
    """A server-side context with the certificate, key and client CA loaded; raises TLSSetupError.

    Example:
        ctx = build_context(TLSConfig(cert_file="tls.crt", key_file="tls.key"))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    """
    check_settings(tls)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # TLSv1 and TLSv1_1 are deprecated names; the file asked for them
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = TLS_VERSIONS[tls.min_version]
        ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    openssl_names = [CIPHER_SUITES[n] for n in tls.cipher_suites if CIPHER_SUITES[n]]
    if openssl_names:
        try:
            ctx.set_ciphers(":".join(openssl_names))
        except ssl.SSLError:
            raise TLSSetupError(
                "cipher_suites", "none of these suites is available in this OpenSSL"
            ) from None
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    _load_key_pair(ctx, tls)
    if tls.client_ca_file is not None:
        _load_certs(
            "client_ca_file", tls.client_ca_file, _read_pem("client_ca_file", tls.client_ca_file), ctx
        )
    mode = CLIENT_AUTH_TYPES[tls.client_auth_type]
    ctx.verify_mode = ssl.CERT_REQUIRED if mode is None else mode  # None was refused by check_settings
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
