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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0", "a VM needs at least 1 vCPU, got 0"),
        ("2 0", "memory must be positive"),
        ("2 4GiB 8GiB", "memory given twice (4 GiB and 8GiB)"),
        ("vcpus=2 vcpus=3 4GiB", "vCPUs given twice (2 and 3)"),
        ("2 4GiB gpu=1 gpu=1", "device 'gpu' given twice"),
        ("2 4GiB foo=1", "unknown device type 'foo' (the config's device types: gpu)"),
        ("2 4GiB gpu=x", "gpu: expected a whole number, got 'x'"),
        ("2 32 Gib", "memory: unknown size unit 'Gib' in '32Gib' (did you mean GiB?)"),
        ("4", "give vCPUs and memory"),
    ],
)
def test_text_requests_are_refused_with_the_reason(text: str, message: str) -> None:
    from tui.core.scheduling.request import parse_request

    with pytest.raises(RequestError) as refused:
        parse_request(text, {"gpu"})
    assert message in str(refused.value)


def test_text_requests_read_every_form() -> None:
    from tui.core.scheduling.request import parse_request

    gib = 2**30
    assert parse_request("2 4GiB") == Request.of(2, 4 * gib)
    assert parse_request("vcpus = 4, mem: 8 GiB gpu:2", {"gpu"}) == Request.of(4, 8 * gib, {"gpu": 2})
    assert parse_request("2 1073741824") == Request.of(2, gib)  # a second number: bytes


def test_a_device_after_a_number_is_not_its_unit() -> None:
    from tui.core.scheduling.request import parse_request

    assert parse_request("2 nvidia-gpu=1 4GiB") == Request.of(2, 4 * 2**30, {"nvidia-gpu": 1})
