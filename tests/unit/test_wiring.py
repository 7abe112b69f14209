"""A function's collaborators: built once, on first use; handed in by a test or the local stack."""

from __future__ import annotations

import pytest

from leadscore.wiring import Wiring


class Built:
    """A factory that numbers what it builds."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"built-{self.count}"


def test_nothing_is_built_before_the_first_use_and_then_once() -> None:
    build = Built()
    wiring = Wiring(build)
    assert build.count == 0
    assert [wiring(), wiring(), wiring()] == ["built-1"] * 3
    assert build.count == 1


def test_wired_collaborators_replace_the_factory_until_unwired() -> None:
    build = Built()
    wiring = Wiring(build)
    wiring.wire("a test's")
    assert (wiring(), build.count) == ("a test's", 0)
    wiring.unwire()
    assert (wiring(), wiring()) == ("built-1", "built-1")


def test_a_with_block_hands_its_own_in_and_gives_back_what_was_there_even_on_error() -> None:
    wiring = Wiring(Built())
    before = wiring()
    seen = []

    def fails_inside() -> None:
        with wiring.wired("fakes") as inside:
            seen.append((inside, wiring()))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fails_inside()
    assert seen == [("fakes", "fakes")]
    assert wiring() == before
