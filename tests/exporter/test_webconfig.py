"""exporter.webconfig: strict loading of web-config.yml, real TLS handshakes, basic auth."""

from __future__ import annotations

import base64
import http.client
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bcrypt
import pytest

from exporter.webconfig import BasicAuth, WebConfigError, load_web_config
from tests.exporter.certs import PKI, make_pki, write_key

# A fixed salt: the hash is in test ids, which must be the same in every pytest-xdist worker.
HASH_S3CRET = bcrypt.hashpw(b"s3cret", b"$2b$04$y2stestsaltnotrandom1u").decode()
HASH_2Y = "$2y$" + HASH_S3CRET[4:]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], str]:
    def _write(text: str) -> str:
        path = tmp_path / "web.yml"
        path.write_text(text)
        return str(path)

    return _write


def tls_yaml(pki: PKI, extra: str = "") -> str:
    return f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n{extra}"


def load_error(path: str) -> str:
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[int]:
    """A tiny HTTPS server on 127.0.0.1, shut down when the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def https_get(port: int, client: ssl.SSLContext) -> int:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


# --- loading: the file itself -------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    assert "cannot read" in load_error(str(tmp_path / "nope.yml"))


def test_directory_is_unreadable(tmp_path: Path) -> None:
    assert "cannot read" in load_error(str(tmp_path))


def test_invalid_yaml_gives_line(write: Callable[[str], str]) -> None:
    assert "line 2, column 10: not valid YAML" in load_error(write("basic_auth_users:\n  alice: - x\n"))


def test_non_mapping_top_level(write: Callable[[str], str]) -> None:
    assert "top level: expected a mapping, got a list" in load_error(write("- a\n- b\n"))


def test_empty_file_is_plain_http_without_auth(write: Callable[[str], str]) -> None:
    config = load_web_config(write(""))
    assert (config.tls, config.ssl_context(), config.authenticator(), dict(config.headers)) == (
        None,
        None,
        None,
        {},
    )


def test_unknown_top_level_key(write: Callable[[str], str]) -> None:
    assert ": basic_auth_user: unknown field" in load_error(write("basic_auth_user: {}\n"))


def test_inline_cert_is_refused(write: Callable[[str], str], pki: PKI) -> None:
    assert "tls_server_config.cert: inline" in load_error(write(tls_yaml(pki, "  cert: x\n")))


def test_unknown_tls_key(write: Callable[[str], str], pki: PKI) -> None:
    assert "tls_server_config.ca_file: unknown field" in load_error(write(tls_yaml(pki, "  ca_file: x\n")))


def test_unknown_http_server_config_key(write: Callable[[str], str]) -> None:
    assert "http_server_config.http3: unknown field" in load_error(
        write("http_server_config:\n  http3: true\n")
    )


def test_rate_limit_is_refused(write: Callable[[str], str]) -> None:
    assert "rate_limit: not supported" in load_error(write("rate_limit:\n  burst: 1\n"))


def test_duplicate_key_is_refused(write: Callable[[str], str]) -> None:
    text = f"basic_auth_users:\n  alice: {HASH_S3CRET}\n  alice: {HASH_S3CRET}\n"
    assert "duplicate key 'alice'" in load_error(write(text))


def test_section_must_be_a_mapping(write: Callable[[str], str]) -> None:
    assert "basic_auth_users: expected a mapping, got a list" in load_error(write("basic_auth_users: [a]\n"))


# --- http_server_config ---------------------------------------------------------------------------


def test_headers_are_loaded(write: Callable[[str], str]) -> None:
    text = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    text += "    Strict-Transport-Security: max-age=60\n"
    assert dict(load_web_config(write(text)).headers) == {
        "X-Frame-Options": "deny",
        "Strict-Transport-Security": "max-age=60",
    }


def test_blank_header_is_unset(write: Callable[[str], str]) -> None:
    text = "http_server_config:\n  headers:\n    Content-Security-Policy: ''\n"
    assert dict(load_web_config(write(text)).headers) == {}


def test_forbidden_header(write: Callable[[str], str]) -> None:
    message = load_error(write("http_server_config:\n  headers:\n    Content-Type: text/html\n"))
    assert "http_server_config.headers.Content-Type: this header can not be configured" in message


def test_authorization_header_is_forbidden(write: Callable[[str], str]) -> None:
    message = load_error(write("http_server_config:\n  headers:\n    Authorization: x\n"))
    assert "http_server_config.headers.Authorization: this header can not be configured" in message


def test_wrong_case_header_suggests_name(write: Callable[[str], str]) -> None:
    message = load_error(write("http_server_config:\n  headers:\n    x-frame-options: deny\n"))
    assert "did you mean X-Frame-Options?" in message


def test_enumerated_header_value(write: Callable[[str], str]) -> None:
    message = load_error(write("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n"))
    assert "headers.X-Content-Type-Options: expected one of nosniff" in message


def test_header_value_with_newline(write: Callable[[str], str]) -> None:
    message = load_error(
        write('http_server_config:\n  headers:\n    X-XSS-Protection: "1\\r\\nSet-Cookie: a"\n')
    )
    assert "headers.X-XSS-Protection: expected a one-line string" in message


def test_http2_must_be_boolean(write: Callable[[str], str]) -> None:
    message = load_error(write("http_server_config:\n  http2: 1\n"))
    assert "http_server_config.http2: expected true or false" in message


def test_http2_is_accepted(write: Callable[[str], str]) -> None:
    assert load_web_config(write("http_server_config:\n  http2: false\n")).http2 is False


# --- basic_auth_users ----------------------------------------------------------------------------


def test_users_are_loaded(write: Callable[[str], str]) -> None:
    config = load_web_config(write(f"basic_auth_users:\n  alice: {HASH_2Y}\n"))
    assert dict(config.basic_auth_users) == {"alice": HASH_2Y}


@pytest.mark.parametrize(
    "value",
    [
        "plain-password",
        "$2x$04$" + "a" * 53,  # crypt_blowfish's buggy variant
        "$2y$4$" + "a" * 53,  # one-digit cost
        HASH_S3CRET[:-1],  # 52 characters after the cost
    ],
)
def test_non_bcrypt_hash(write: Callable[[str], str], value: str) -> None:
    message = load_error(write(f"basic_auth_users:\n  alice: '{value}'\n"))
    assert "basic_auth_users.alice: not a bcrypt hash" in message
    assert value not in message


def test_bcrypt_cost_out_of_range(write: Callable[[str], str]) -> None:
    message = load_error(write(f"basic_auth_users:\n  alice: '$2y$03{HASH_S3CRET[6:]}'\n"))
    assert "basic_auth_users.alice: bcrypt cost 3 is out of range" in message


def test_bcrypt_invalid_salt(write: Callable[[str], str]) -> None:
    bad = HASH_S3CRET[:28] + "z" + HASH_S3CRET[29:]  # the last salt character carries stray bits
    message = load_error(write(f"basic_auth_users:\n  alice: '{bad}'\n"))
    assert "basic_auth_users.alice: bcrypt hash has an invalid salt" in message


def test_empty_user_name(write: Callable[[str], str]) -> None:
    message = load_error(write(f"basic_auth_users:\n  '': {HASH_S3CRET}\n"))
    assert "basic_auth_users: a user name is empty" in message


def test_user_name_with_colon(write: Callable[[str], str]) -> None:
    message = load_error(write(f"basic_auth_users:\n  'a:b': {HASH_S3CRET}\n"))
    assert "basic_auth_users.a:b: a user name cannot contain ':'" in message


def test_hash_must_be_string(write: Callable[[str], str]) -> None:
    message = load_error(write("basic_auth_users:\n  alice: 12\n"))
    assert "basic_auth_users.alice: expected a bcrypt hash string" in message


def test_numeric_user_name_must_be_quoted(write: Callable[[str], str]) -> None:
    message = load_error(write(f"basic_auth_users:\n  1000: {HASH_S3CRET}\n"))
    assert "expected a string key (quote it)" in message


# --- tls_server_config: settings ------------------------------------------------------------------


def test_tls_without_cert_file(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(f"tls_server_config:\n  key_file: {pki.server_key}\n"))
    assert "tls_server_config.cert_file: required" in message


def test_tls_without_key_file(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(f"tls_server_config:\n  cert_file: {pki.server_cert}\n"))
    assert "tls_server_config.key_file: required" in message


def test_tls_settings_without_files(write: Callable[[str], str]) -> None:
    message = load_error(write("tls_server_config:\n  min_version: TLS13\n"))
    assert "tls_server_config.cert_file: required" in message


def test_cert_file_must_be_string(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(f"tls_server_config:\n  cert_file: [a]\n  key_file: {pki.server_key}\n"))
    assert "tls_server_config.cert_file: expected a non-empty string, got a list" in message


def test_unknown_client_auth_type(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  client_auth_type: Always\n")))
    assert "tls_server_config.client_auth_type: unknown 'Always'; expected one of NoClientCert" in message


def test_require_any_client_cert_is_refused(write: Callable[[str], str], pki: PKI) -> None:
    extra = f"  client_auth_type: RequireAnyClientCert\n  client_ca_file: {pki.ca_cert}\n"
    message = load_error(write(tls_yaml(pki, extra)))
    assert "tls_server_config.client_auth_type: RequireAnyClientCert is not supported" in message


def test_verify_types_need_client_ca(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  client_auth_type: VerifyClientCertIfGiven\n")))
    assert (
        "tls_server_config.client_ca_file: required with client_auth_type VerifyClientCertIfGiven" in message
    )


def test_client_ca_without_client_auth(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, f"  client_ca_file: {pki.ca_cert}\n")))
    assert "tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert" in message


def test_unknown_tls_version(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  min_version: TLS14\n")))
    assert "tls_server_config.min_version: unknown TLS version 'TLS14'" in message


def test_min_version_above_max(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  min_version: TLS13\n  max_version: TLS12\n")))
    assert "tls_server_config.min_version: TLS13 is above max_version TLS12" in message


def test_unknown_cipher_suite(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n")))
    assert "tls_server_config.cipher_suites[0]: unknown or insecure 'TLS_RSA_WITH_RC4_128_SHA'" in message


def test_unknown_curve(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  curve_preferences: [CurveP256, P-256]\n")))
    assert "tls_server_config.curve_preferences[1]: unknown curve 'P-256'" in message


def test_known_curves_are_accepted(write: Callable[[str], str], pki: PKI) -> None:
    config = load_web_config(write(tls_yaml(pki, "  curve_preferences: [X25519, CurveP256]\n")))
    assert config.tls is not None
    assert config.tls.curve_preferences == ("X25519", "CurveP256")


def test_cipher_suites_must_be_a_list(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  cipher_suites: TLS_AES_128_GCM_SHA256\n")))
    assert "tls_server_config.cipher_suites: expected a list of strings" in message


def test_prefer_server_cipher_suites_must_be_boolean(write: Callable[[str], str], pki: PKI) -> None:
    message = load_error(write(tls_yaml(pki, "  prefer_server_cipher_suites: 'yes please'\n")))
    assert "tls_server_config.prefer_server_cipher_suites: expected true or false" in message


# --- tls_server_config: files -----------------------------------------------------------------------


def test_missing_cert_file(write: Callable[[str], str], pki: PKI, tmp_path: Path) -> None:
    text = f"tls_server_config:\n  cert_file: {tmp_path / 'gone.pem'}\n  key_file: {pki.server_key}\n"
    assert "tls_server_config.cert_file: cannot read" in load_error(write(text))


def test_unreadable_key_file(write: Callable[[str], str], pki: PKI, tmp_path: Path) -> None:
    text = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {tmp_path}\n"
    assert "tls_server_config.key_file: cannot read" in load_error(write(text))


def test_cert_file_not_pem(write: Callable[[str], str], pki: PKI) -> None:
    text = f"tls_server_config:\n  cert_file: {pki.server_key}\n  key_file: {pki.server_key}\n"
    message = load_error(write(text))
    assert "tls_server_config.cert_file: " in message
    assert "holds no PEM certificate" in message


def test_cert_file_binary(write: Callable[[str], str], pki: PKI, tmp_path: Path) -> None:
    der = tmp_path / "server.der"
    der.write_bytes(b"\x30\x82\x01\xff" * 8)
    message = load_error(write(f"tls_server_config:\n  cert_file: {der}\n  key_file: {pki.server_key}\n"))
    assert "tls_server_config.cert_file: " in message
    assert "is not a PEM file" in message


def test_key_file_not_pem(write: Callable[[str], str], pki: PKI) -> None:
    text = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_cert}\n"
    message = load_error(write(text))
    assert "tls_server_config.key_file: " in message
    assert "holds no PEM private key" in message


def test_key_not_matching_cert(write: Callable[[str], str], pki: PKI, tmp_path: Path) -> None:
    other = write_key(tmp_path / "other-key.pem")
    message = load_error(write(f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {other}\n"))
    assert "tls_server_config.key_file: " in message
    assert "does not match the certificate in cert_file" in message


def test_client_ca_not_pem(write: Callable[[str], str], pki: PKI, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    text = tls_yaml(pki, f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {junk}\n")
    message = load_error(write(text))
    assert "tls_server_config.client_ca_file: " in message
    assert "holds no PEM certificate" in message


def test_relative_paths_are_relative_to_the_config(pki: PKI) -> None:
    path = pki.server_cert.parent / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n")
    config = load_web_config(str(path))
    assert config.tls is not None
    assert config.tls.cert_file == os.path.join(pki.server_cert.parent, "server.pem")


# --- TLS handshakes ---------------------------------------------------------------------------------


def test_tls_server_serves_a_verifying_client(write: Callable[[str], str], pki: PKI) -> None:
    context = load_web_config(write(tls_yaml(pki))).ssl_context()
    assert context is not None
    with tls_server(context) as port:
        assert https_get(port, ssl.create_default_context(cafile=str(pki.ca_cert))) == 200


def test_tls12_with_go_cipher_names(write: Callable[[str], str], pki: PKI) -> None:
    extra = "  max_version: TLS12\n  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
    context = load_web_config(write(tls_yaml(pki, extra))).ssl_context()
    assert context is not None
    client = ssl.create_default_context(cafile=str(pki.ca_cert))
    with tls_server(context) as port:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client, timeout=5)
        try:
            conn.connect()
            assert isinstance(conn.sock, ssl.SSLSocket)
            assert conn.sock.cipher()[:2] == ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2")  # type: ignore[index]
        finally:
            conn.close()


def test_require_and_verify_accepts_client_cert(write: Callable[[str], str], pki: PKI) -> None:
    extra = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca_cert}\n"
    context = load_web_config(write(tls_yaml(pki, extra))).ssl_context()
    assert context is not None
    client = ssl.create_default_context(cafile=str(pki.ca_cert))
    client.load_cert_chain(pki.client_cert, pki.client_key)
    with tls_server(context) as port:
        assert https_get(port, client) == 200


def test_require_and_verify_rejects_client_without_cert(write: Callable[[str], str], pki: PKI) -> None:
    extra = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca_cert}\n"
    context = load_web_config(write(tls_yaml(pki, extra))).ssl_context()
    assert context is not None
    with tls_server(context) as port, pytest.raises(OSError):
        https_get(port, ssl.create_default_context(cafile=str(pki.ca_cert)))


def test_verify_if_given_accepts_client_without_cert(write: Callable[[str], str], pki: PKI) -> None:
    extra = f"  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {pki.ca_cert}\n"
    context = load_web_config(write(tls_yaml(pki, extra))).ssl_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_OPTIONAL
    with tls_server(context) as port:
        assert https_get(port, ssl.create_default_context(cafile=str(pki.ca_cert))) == 200


def test_request_client_cert_maps_to_cert_none(write: Callable[[str], str], pki: PKI) -> None:
    context = load_web_config(write(tls_yaml(pki, "  client_auth_type: RequestClientCert\n"))).ssl_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE


def test_min_version_tls13_applies(write: Callable[[str], str], pki: PKI) -> None:
    context = load_web_config(write(tls_yaml(pki, "  min_version: TLS13\n"))).ssl_context()
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3


def test_tls10_is_accepted_without_warning(write: Callable[[str], str], pki: PKI) -> None:
    context = load_web_config(write(tls_yaml(pki, "  min_version: TLS10\n"))).ssl_context()
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1


# --- BasicAuth ---------------------------------------------------------------------------------------


@pytest.fixture
def auth() -> BasicAuth:
    return BasicAuth({"alice": HASH_2Y})


def test_auth_accepts_right_password(auth: BasicAuth) -> None:
    assert auth.check(basic("alice", "s3cret"))


def test_auth_rejects_wrong_password(auth: BasicAuth) -> None:
    assert not auth.check(basic("alice", "wrong"))


def test_auth_rejects_unknown_user(auth: BasicAuth) -> None:
    assert not auth.check(basic("mallory", "s3cret"))


def test_auth_password_may_contain_colon() -> None:
    hashed = bcrypt.hashpw(b"a:b", bcrypt.gensalt(4)).decode()
    assert BasicAuth({"alice": hashed}).check(basic("alice", "a:b"))


def test_auth_long_password_uses_first_72_bytes_like_go() -> None:
    hashed = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(4)).decode()
    assert BasicAuth({"alice": hashed}).check(basic("alice", "x" * 100))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":s3cret").decode(),
        "Basic " + base64.b64encode(b"alice:s3\x00cret").decode(),
        "Bearer " + base64.b64encode(b"alice:s3cret").decode(),
        "Basic " + "é" * 10,
        "Basic " + "A" * 10_000,
    ],
)
def test_auth_malformed_header_is_false(auth: BasicAuth, header: str | None) -> None:
    assert auth.check(header) is False


def test_auth_scheme_is_case_insensitive(auth: BasicAuth) -> None:
    assert auth.check("basic " + base64.b64encode(b"alice:s3cret").decode())


def test_auth_second_check_is_cached() -> None:
    slow = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(12)).decode()  # ~0.2 s per bcrypt check
    auth = BasicAuth({"alice": slow})
    start = time.perf_counter()
    assert auth.check(basic("alice", "s3cret"))
    first = time.perf_counter() - start
    start = time.perf_counter()
    assert auth.check(basic("alice", "s3cret"))
    second = time.perf_counter() - start
    assert second < first / 20


def test_auth_cached_failure_stays_a_failure(auth: BasicAuth) -> None:
    assert not auth.check(basic("alice", "wrong"))
    assert not auth.check(basic("alice", "wrong"))


def test_auth_cache_does_not_hold_the_password(auth: BasicAuth) -> None:
    auth.check(basic("alice", "s3cret"))
    assert all(b"s3cret" not in key for key in auth._cache)


def test_auth_cache_is_bounded() -> None:
    auth = BasicAuth({"alice": HASH_S3CRET}, cache_size=3)
    for i in range(6):
        auth.check(basic("alice", f"wrong{i}"))
    assert len(auth._cache) == 3


def test_auth_from_config(write: Callable[[str], str]) -> None:
    auth = load_web_config(write(f"basic_auth_users:\n  alice: {HASH_2Y}\n")).authenticator()
    assert auth is not None
    assert auth.check(basic("alice", "s3cret"))


def test_auth_is_thread_safe(auth: BasicAuth) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def worker(password: str) -> None:
        ok = auth.check(basic("alice", password))
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=worker, args=("s3cret" if i % 2 else "nope",)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False] * 8 + [True] * 8
