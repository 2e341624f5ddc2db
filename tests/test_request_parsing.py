"""Command-line request shapes: one parser for `place`, `headroom`, `lab` and `vms start`."""

from __future__ import annotations

import pytest

from tui.core.scheduling.request import Request, RequestError, parse_device_counts, request_of


def test_device_words_sum_per_type_and_a_bare_type_counts_one() -> None:
    assert parse_device_counts(["nvidia-gpu=1", "nvidia-gpu", " fpga = 2 "]) == {"nvidia-gpu": 2, "fpga": 2}


@pytest.mark.parametrize("bad", ["gpu=x", "=2", "gpu=-1", "gpu=1.5"])
def test_bad_device_words_name_the_word(bad: str) -> None:
    with pytest.raises(RequestError, match=f"--device {bad!r}"):
        parse_device_counts([bad])


def test_request_with_a_size_and_devices() -> None:
    assert request_of(2, "4GiB", ["gpu=1"]) == Request.of(2, 4 * 2**30, {"gpu": 1})
    assert request_of(1, 1024) == Request.of(1, 1024)


def test_request_errors_are_for_the_admin() -> None:
    with pytest.raises(RequestError, match="--memory: unknown size unit 'Gib'"):
        request_of(2, "4 Gib")
    with pytest.raises(RequestError, match="vcpus must be a whole number >= 0"):
        request_of(-1, "1GiB")
