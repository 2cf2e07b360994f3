"""The collector settings the clock and the build use are restored afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from asyncflow.collector import collector_paused
from asyncflow.engine.kernel import RUN_GC_THRESHOLD, Kernel
from asyncflow.metrics.requests import Reasons, RequestLog


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_clock_spaces_young_collections_and_restores_the_thresholds(
    thresholds: None,
) -> None:
    gc.set_threshold(700, 9, 8)
    seen: list[tuple[int, ...]] = []
    kernel = Kernel()
    kernel.schedule(1.0, lambda t, _: seen.append(gc.get_threshold()))
    kernel.run(2.0)
    assert seen == [(RUN_GC_THRESHOLD, 9, 8)]
    assert gc.get_threshold() == (700, 9, 8)


@pytest.mark.parametrize("young", [RUN_GC_THRESHOLD * 2, 0])
def test_a_higher_or_zero_young_threshold_is_kept_while_the_clock_runs(
    thresholds: None, young: int
) -> None:
    gc.set_threshold(young, 10, 10)
    seen: list[tuple[int, ...]] = []
    kernel = Kernel()
    kernel.schedule(1.0, lambda t, _: seen.append(gc.get_threshold()))
    kernel.run(2.0)
    assert seen == [(young, 10, 10)]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_build_pause_restores_the_collector_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_place_codes_are_given_in_order_of_first_use() -> None:
    log = RequestLog(Reasons(), ())
    codes = [log.place_code(p) for p in ("srv-2", "lb", "srv-2", "edge-1", "lb")]
    assert codes == [0, 1, 0, 2, 1]
    assert log.places == ["srv-2", "lb", "edge-1"]
