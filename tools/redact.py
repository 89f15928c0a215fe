"""Credentials out of anything shown or logged: URLs with passwords, token query parameters.

    redact_url("postgresql://app:s3cret@db:5432/headroom")   # 'postgresql://app:***@db:5432/headroom'
    redact_text("cannot open postgresql://u:pw@h/db: refused")  # the same, inside free text

Used for the store URL (``HEADROOM_DB_URL``), the Chroma URL (``HEADROOM_CHROMA_URL``), error
messages and ``headroom config``. Standard library only.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_PARAMS = frozenset({"password", "pass", "pwd", "token", "api_key", "apikey", "key",
                            "secret", "access_token", "sslpassword", "auth"})
# scheme://user:password@host  (the password is anything up to the last '@' before the host)
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s'\"]*:)"
                              r"(?P<secret>[^@\s'\"]*)(?P<at>@)")
_QUERY_SECRET = re.compile(r"(?P<head>[?&;\s](?:" + "|".join(sorted(_SECRET_PARAMS)) + r")=)"
                           r"(?P<secret>[^&\s'\"]+)", re.IGNORECASE)
_LIBPQ_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|\S+)", re.IGNORECASE)


def redact_url(url: str | None) -> str:
    """``url`` with its password and secret query parameters replaced by ``***``."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if sep else ''}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in _SECRET_PARAMS else v) for k, v in pairs],
                          safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Free text with URL passwords, ``password=...`` pairs and the given ``secrets`` masked."""
    out = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}{m['at']}", text)
    out = _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", out)
    out = _LIBPQ_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, MASK)
    return out
