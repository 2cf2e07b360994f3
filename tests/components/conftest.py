"""Small named fixtures: a real kernel and context, and doubles for the components' seams."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncflow.components.context import RunContext
from asyncflow.engine.kernel import Kernel
from asyncflow.scenario.builder import cpu, endpoint, io, ram

from .doubles import (
    FakeServerView,
    RecordingCaller,
    ServerRig,
    make_context,
    server_spec,
    views,
)


@pytest.fixture
def kernel() -> Kernel:
    return Kernel()


@pytest.fixture
def ctx(kernel: Kernel) -> RunContext:
    """A real context on ``kernel``: request log, reasons, critical paths, 100 s in 1 s bins."""
    return make_context(kernel)


@pytest.fixture
def caller(ctx: RunContext) -> RecordingCaller:
    return RecordingCaller(ctx)


@pytest.fixture
def fake_servers() -> Callable[..., list[FakeServerView]]:
    """Fake server views for policies: ``fake_servers(*loads, down=(indices,))``."""
    return views


@pytest.fixture
def make_rig() -> Callable[..., ServerRig]:
    """Build a server rig, on a kernel and context of its own, from endpoints and server
    resources (builder keywords)."""

    def make(
        *endpoints: dict[str, Any],
        tracks_crashes: bool = True,
        with_connections: bool = False,
        inbound_mbps: float | None = None,
        **resources: Any,
    ) -> ServerRig:
        spec = server_spec(*endpoints, **resources)
        context = make_context(Kernel())
        return ServerRig(
            context,
            spec,
            tracks_crashes=tracks_crashes,
            with_connections=with_connections,
            inbound_mbps=inbound_mbps,
        )

    return make


@pytest.fixture
def rig(make_rig: Callable[..., ServerRig]) -> ServerRig:
    """One core, 1000 MB: ``/api`` reserves 100 MB, runs 0.5 s of CPU then 2 s of I/O."""
    return make_rig(endpoint("/api", ram(100), cpu(0.5), io(2.0)), ram_mb=1000)
