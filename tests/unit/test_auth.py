"""API keys as SDKs present them."""

import base64

import pytest

from leadscore.auth import presented_key, require_key
from leadscore.errors import Unauthorized


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        (basic("wk"), "wk"),
        (basic("wk", "ignored"), "wk"),
        ("Bearer rk", "rk"),
        ("bearer   rk ", "rk"),
        (None, None),
        ("", None),
        ("Basic !!!not-base64", None),
        ("Digest x", None),
        (basic(""), None),
    ],
)
def test_the_key_is_the_basic_user_name_or_the_bearer_token(header: str | None, key: str | None) -> None:
    assert presented_key(header) == key


def test_only_an_allowed_key_passes() -> None:
    require_key("wk", {"wk"})
    with pytest.raises(Unauthorized):
        require_key("rk", {"wk"})
    with pytest.raises(Unauthorized):
        require_key(None, {"wk"})
