"""What every component of one run shares: the clock's heap, the records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from asyncflow.components.calls import DONE, FAILING, Call, node_index
from asyncflow.engine.kernel import Kernel
from asyncflow.engine.streams import RandomStreams
from asyncflow.metrics.levels import BinEdges, Level
from asyncflow.metrics.phases import HOP_REPLY, SLOTS
from asyncflow.metrics.requests import CallLog, CriticalPathLog, Reasons, RequestLog
from asyncflow.metrics.sketch import CallTally


class Way(Protocol):
    """An edge an error can cross back on (``components.edges.Edge``)."""

    def notice_delay(self, time: float) -> float:
        """Seconds the error sent back at ``time`` takes to arrive."""
        ...


class Watch(Protocol):
    """What notices dropped calls later than at once (``components.timeouts.Timeouts``)."""

    def lose(self, time: float, call: Call, code: int) -> bool:
        """Whether the caller of ``call``, failed with ``code``, notices it only later."""
        ...


@dataclass(slots=True)
class RunContext:
    """Shared state of one run, handed to every component when it is built.

    Attributes:
        kernel: The clock.
        streams: The run's random streams.
        log: One row per request.
        reasons: Outcome codes of requests and calls.
        critical: The calls on requests' critical paths.
        calls: One row per call, or None when calls are not recorded.
        end_s, bin_s, warm_up_s: Horizon, width of series bins, warm-up.
        levels: Every level of the run, by ``(node, metric)``.
        due: The levels with enough changes pending to be flushed before the
            end (``metrics.levels.DUE_CHANGES``), in the order they got there.
        tallies: Calls made by servers and answered, by ``(server, endpoint)``
            index.
        watch: The run's timeouts, when it has any: a drop of a call with a
            timeout is noticed when the timeout fires.
    """

    kernel: Kernel
    streams: RandomStreams
    log: RequestLog
    reasons: Reasons
    critical: CriticalPathLog
    calls: CallLog | None
    end_s: float
    bin_s: float
    warm_up_s: float
    levels: dict[tuple[str, str], Level] = field(default_factory=dict)
    tallies: dict[tuple[int, int], CallTally] = field(default_factory=dict)
    watch: Watch | None = None
    bins: BinEdges | None = None  # the series bins' starts, shared by every level
    due: list[Level] = field(default_factory=list)

    @property
    def n_bins(self) -> int:
        """Number of time bins of the run's series."""
        return max(1, math.ceil(self.end_s / self.bin_s - 1e-9))

    def level(self, node: str, metric: str) -> Level:
        """Create and register the level ``metric`` of ``node``."""
        if self.bins is None:
            self.bins = BinEdges(self.n_bins, self.bin_s)
        name = f"{node}.{metric}"
        level = Level(name, self.n_bins, self.bin_s, self.warm_up_s, self.bins, self.due)
        self.levels[(node, metric)] = level
        return level

    def code(self, reason: str) -> int:
        """The outcome code of failure ``reason``."""
        return self.reasons.code(reason)

    def place(self, node: str) -> int:
        """The ``failed_at`` code of a node or edge."""
        return self.log.place_code(node)

    def fail(self, time: float, call: Call, code: int, place: int, back: Way | None = None) -> None:
        """``call`` failed before any endpoint answered it.

        With ``back``, the caller learns it when the error has crossed that
        edge back to it (a refused connection's reset, a balancer's 503, a
        crashed server's broken connection), the crossing counted as the
        call's reply hop; without, at once (a drop), unless a timeout watches
        the call: then its caller notices when the timeout fires.
        """
        call.code = code
        call.place = place
        if back is None:
            if self.watch is not None and self.watch.lose(time, call, code):
                return
            call.state = DONE
            call.site.caller.on_failure(time, call)
            return
        delay = back.notice_delay(time)
        call.ph[HOP_REPLY] += delay
        call.state = FAILING
        self.kernel.push(time + delay, self._noticed, call)

    def _noticed(self, time: float, call: Call) -> None:
        """The error of a failed call reaches its caller."""
        call.state = DONE
        call.site.caller.on_failure(time, call)

    def answered(self, time: float, call: Call) -> None:
        """A call made by a server was answered: tally it at the server that served it."""
        if call.server.kind != "server":
            return  # a database or a cache: tallied by its own node
        key = (call.server.index, call.plan.index)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = CallTally(SLOTS)
        tally.add(time - call.sent, call.ph, self.log.generated[call.root] >= self.warm_up_s)

    def close_call(self, time: float, call: Call, outcome: int) -> None:
        """Record how a call ended in the call log (when calls are recorded)."""
        calls = self.calls
        if calls is not None and call.cid >= 0:
            index = node_index(call)
            endpoint = call.plan.index if index >= 0 else -1
            calls.close(call.cid, time, outcome, index, endpoint, call.ph)
