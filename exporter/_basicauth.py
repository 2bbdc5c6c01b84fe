"""HTTP basic auth against bcrypt hashes, with exporter-toolkit's result cache.

bcrypt is slow on purpose (about 50-100 ms at cost 10) and Prometheus sends the same credentials on
every scrape, so, like exporter-toolkit, results are cached. The cache key is an HMAC-SHA256 of
(user, password) under a random per-process key: neither the password nor a plain fast hash of it is kept.
One bcrypt check runs at a time (exporter-toolkit does the same) so that a burst of bad credentials
costs one core, not all of them; cached answers never wait for that lock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping

import bcrypt

# $2a$, $2b$ and $2y$ are the same algorithm for passwords of at most 72 bytes (all bcrypt ever reads);
# $2x$ is crypt_blowfish's buggy variant and $2$ has no salt rules, so both are refused.
_BCRYPT_RE = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_MAX_PASSWORD = 72  # bcrypt reads at most 72 bytes; Go's bcrypt (exporter-toolkit) ignores the rest too
_MAX_HEADER = 4096


def parse_bcrypt_hash(value: str) -> bytes:
    """Check a bcrypt hash from ``basic_auth_users`` and return it normalised to the ``$2b$`` prefix.

    Raises:
        ValueError: with a one-line reason when ``value`` is not a usable bcrypt hash.

    Example:
        >>> parse_bcrypt_hash("$2y$04$" + "." * 53)[:7]
        b'$2b$04$'
    """
    match = _BCRYPT_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            "not a bcrypt hash; expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters of salt and "
            "hash (60 in all), as printed by: htpasswd -nBC 10 '' | tr -d ':\\n'"
        )
    cost = int(match.group(1))
    if not 4 <= cost <= 31:
        raise ValueError(f"bcrypt cost {cost} is out of range; expected 04 to 31")
    normalised = ("$2b$" + value[4:]).encode("ascii")
    try:  # the same salt at cost 4: catches salts that bcrypt refuses, for about a millisecond
        bcrypt.checkpw(b"", b"$2b$04$" + normalised[7:])
    except ValueError:
        raise ValueError("bcrypt hash has an invalid salt; generate it again with htpasswd -B") from None
    return normalised


def parse_basic_authorization(header: str | None) -> tuple[bytes, bytes] | None:
    """Split an ``Authorization: Basic ...`` header into (user, password); None when it is not one.

    Never raises: bad base64, a missing colon or another scheme all give None.

    Example:
        >>> parse_basic_authorization("Basic YWxpY2U6czNjcmV0")
        (b'alice', b's3cret')
    """
    if not header or len(header) > _MAX_HEADER:
        return None
    scheme, _, param = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(param.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    user, colon, password = raw.partition(b":")
    if not colon or not user:
        return None
    return user, password


class BasicAuth:
    """Checks ``Authorization`` headers against ``basic_auth_users``; safe to share between threads.

    Unknown users still cost one bcrypt check (against a decoy hash of the highest configured cost), so
    response times do not tell which user names exist.

    Args:
        users: user name -> bcrypt hash, as in ``basic_auth_users``.
        cache_size: how many (user, password) results to remember, least recently used evicted first.

    Example:
        auth = BasicAuth({"prometheus": "$2y$10$..."})
        if not auth.check(request.headers.get("Authorization")):
            ...  # answer 401 with WWW-Authenticate: Basic
    """

    def __init__(self, users: Mapping[str, str], *, cache_size: int = 1024) -> None:
        self._users = tuple((name.encode(), parse_bcrypt_hash(hashed)) for name, hashed in users.items())
        cost = max((int(hashed[4:6]) for _, hashed in self._users), default=4)
        self._decoy = bcrypt.hashpw(secrets.token_bytes(32), bcrypt.gensalt(cost))
        self._cache_key = secrets.token_bytes(32)
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._cache_size = max(cache_size, 1)
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()

    def check(self, authorization_header: str | None) -> bool:
        """True when the header carries a configured user with the right password."""
        creds = parse_basic_authorization(authorization_header)
        if creds is None:
            return False
        user, password = creds
        key = hmac.new(
            self._cache_key, len(user).to_bytes(4, "big") + user + password, hashlib.sha256
        ).digest()
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self._bcrypt_lock:
            cached = self._cached(key)  # another thread may have checked the same pair meanwhile
            if cached is not None:
                return cached
            hashed = self._hash_of(user)
            try:
                ok = bcrypt.checkpw(password[:_MAX_PASSWORD], hashed or self._decoy) and hashed is not None
            except ValueError:  # hashes are checked at load; this only guards against bcrypt changing
                ok = False
        with self._cache_lock:
            self._cache[key] = ok
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ok

    def _cached(self, key: bytes) -> bool | None:
        with self._cache_lock:
            ok = self._cache.get(key)
            if ok is not None:
                self._cache.move_to_end(key)
            return ok

    def _hash_of(self, user: bytes) -> bytes | None:
        # Compare against every name, in constant time each, so the match position does not show.
        found = None
        for name, hashed in self._users:
            if hmac.compare_digest(name, user):
                found = hashed
        return found
