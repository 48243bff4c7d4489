"""One switch decides whether a run is under CI, and a missing service then fails the run instead of skipping."""

from __future__ import annotations

import pytest

from tests.support.backends import unavailable
from tests.support.ci import under_ci


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", " true "])
def test_ci_set_to_a_true_word_is_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert under_ci()


@pytest.mark.parametrize("value", ["", "false", "0", "no"])
def test_ci_unset_or_false_is_not_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert not under_ci()
    monkeypatch.delenv("CI")
    assert not under_ci()


def test_a_missing_service_fails_the_run_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI requires it"):
        unavailable("Redis at 127.0.0.1:1", ConnectionRefusedError("refused"))


def test_a_missing_service_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        unavailable("Redis at 127.0.0.1:1", ConnectionRefusedError("refused"))
