"""API keys as the tracking SDKs send them: the write key as the basic-auth user name, or a bearer token."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable

from leadscore.errors import Unauthorized


def presented_key(authorization: str | None) -> str | None:
    """The key in an Authorization header: basic-auth user name (password ignored) or bearer token."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


def require_key(key: str | None, allowed: Iterable[str]) -> None:
    """Raise Unauthorized unless ``key`` is one of ``allowed`` (compared in constant time)."""
    if key is None:
        raise Unauthorized("an API key is required (basic-auth user name or bearer token)")
    if not any(hmac.compare_digest(key.encode(), candidate.encode()) for candidate in allowed):
        raise Unauthorized("the API key is not valid for this endpoint")
