"""Which servers a load balancer keeps in rotation: health checks and outlier ejection.

Without these policies a balancer knows at once that a server is down (its
policies read the server's own ``up``). With them, a balancer reads a
:class:`Rotation` of each server instead, and learns only what it would
learn in practice:

* **Active health checks.** Every ``interval_s`` (at ``k * interval_s``,
  whatever the traffic) the balancer probes each server. A probe of a
  server that is up succeeds at once: probes are cheap and a round trip is
  far shorter than an interval, and drawing its latency would take values
  from the streams the requests use. A probe of a server that is down gets
  no answer and fails when its ``timeout_s`` runs out. After
  ``unhealthy_threshold`` failed probes in a row the server leaves rotation;
  after ``healthy_threshold`` good ones it comes back. A round is one kernel
  event, and its failed probes one more.
* **Outlier ejection.** The balancer watches the replies of the calls it
  handed to each server, as they reach their callers (replies cross the
  balancer): an answer resets the server's count of failures in a row, an
  error (an error reply, or a failure at the server: ``server_down``,
  ``shed``, a refused connection, ...) adds one. At ``consecutive_failures``
  the server is ejected for ``ejection_s`` times the number of its recent
  ejections (one fewer for each ``ejection_s`` it has since spent back in
  rotation), at most ``max_ejection_s``, unless ``max_ejected_ratio`` of the
  servers are already out (one may always be).

A server is in rotation when it is healthy and not ejected. Between an
outage and its removal the balancer keeps sending calls to the dead server:
they fail there with ``server_down``, noticed by their callers after the
error crosses back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from asyncflow.components.calls import COMPLETED_CODE, Call
from asyncflow.components.context import RunContext

if TYPE_CHECKING:
    from asyncflow.components.server import Server
    from asyncflow.components.sites import CallSite
    from asyncflow.scenario.policies_health import HealthCheck, OutlierEjection

Deliver = Callable[[float, Call], None]

MAX_CHANGES = 1000
"""Rotation changes kept for the summary, per balancer (the counts are complete)."""


class Rotation:
    """A server as one balancer sees it: what its balancing policy reads.

    Attributes:
        server: The server.
        up: Whether it is in the balancer's rotation (healthy and not ejected).
        healthy: Whether the health checks pass (True without them).
        ejected: Whether it is ejected as an outlier.
    """

    __slots__ = ("_watchers", "ejected", "healthy", "server", "up")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.up = True
        self.healthy = True
        self.ejected = False
        self._watchers: list[Callable[[], None]] = []

    @property
    def in_progress(self) -> int:
        """Calls inside the server."""
        return self.server.in_progress

    @property
    def connections(self) -> int:
        """Active connections (or calls in progress) of the server."""
        return self.server.connections

    def watch_load(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every change of the load or of the rotation."""
        self._watchers.append(callback)
        self.server.watch_load(callback)

    def settle(self) -> int:
        """Bring ``up`` in line with the checks: +1 back, -1 out, 0 unchanged."""
        now = self.healthy and not self.ejected
        if now == self.up:
            return 0
        self.up = now
        for callback in self._watchers:
            callback()
        return 1 if now else -1


class BalancerHealth:
    """The health policies of one balancer and the rotation they decide.

    Attributes:
        views: One :class:`Rotation` per covered server, in the balancer's order.
        observes: Whether replies are watched (outlier ejection).
        probes, failed_probes: Health-check probes sent, and those that failed.
        removals, returns: Servers taken out and brought back by health checks.
        ejections: Outlier ejections.
        changes: The first :data:`MAX_CHANGES` rotation changes, as
            ``(time, server id, what)`` (``removed``, ``restored``,
            ``ejected``, ``returned``).
    """

    __slots__ = (
        "_allowed",
        "_back_at",
        "_by_place",
        "_ctx",
        "_eject_s",
        "_fails",
        "_healthy_n",
        "_interval_s",
        "_level",
        "_longest_s",
        "_n_ejected",
        "_passes",
        "_streak",
        "_threshold",
        "_timeout_s",
        "_times",
        "_unhealthy_n",
        "changes",
        "checks",
        "ejections",
        "failed_probes",
        "id",
        "observes",
        "probes",
        "removals",
        "returns",
        "views",
    )

    def __init__(
        self,
        ctx: RunContext,
        balancer_id: str,
        servers: Sequence[Server],
        checks: HealthCheck | None,
        ejection: OutlierEjection | None,
    ) -> None:
        self.id = balancer_id
        self._ctx = ctx
        self.views = [Rotation(s) for s in servers]
        n = len(self.views)
        self._by_place = {ctx.place(s.id): i for i, s in enumerate(servers)}
        self._level = ctx.level(balancer_id, "servers_in_rotation")
        self._level.change(0.0, float(n))
        self.probes = self.failed_probes = self.removals = self.returns = self.ejections = 0
        self.changes: list[tuple[float, str, str]] = []
        self.checks = checks is not None
        self._interval_s = checks.interval_s if checks is not None else math.inf
        self._timeout_s = checks.timeout_s if checks is not None else 0.0
        self._healthy_n = checks.healthy_threshold if checks is not None else 1
        self._unhealthy_n = checks.unhealthy_threshold if checks is not None else 1
        self._passes = [0] * n
        self._fails = [0] * n
        self.observes = ejection is not None
        self._threshold = ejection.consecutive_failures if ejection is not None else 0
        self._eject_s = ejection.ejection_s if ejection is not None else 0.0
        self._longest_s = ejection.longest_s if ejection is not None else 0.0
        ratio = ejection.max_ejected_ratio if ejection is not None else 0.0
        self._allowed = max(1, math.floor(ratio * n + 1e-9))
        self._n_ejected = 0
        self._streak = [0] * n
        self._times = [0] * n
        self._back_at = [0.0] * n

    def start(self) -> None:
        """Schedule the first round of probes (with health checks)."""
        if self.checks:
            self._ctx.kernel.schedule(self._interval_s, self._probe_round, 1)

    # ------------------------------------------------------------------ health checks

    def _probe_round(self, time: float, k: int) -> None:
        """Probe every server; the probes of servers that are down fail later."""
        down: list[int] = []
        for i, view in enumerate(self.views):
            self.probes += 1
            if view.server.up:
                self._probed(time, i, True)
            else:
                down.append(i)
        kernel = self._ctx.kernel
        if down:
            kernel.schedule(time + self._timeout_s, self._probes_failed, down)
        kernel.schedule((k + 1) * self._interval_s, self._probe_round, k + 1)

    def _probes_failed(self, time: float, down: list[int]) -> None:
        self.failed_probes += len(down)
        for i in down:
            self._probed(time, i, False)

    def _probed(self, time: float, i: int, passed: bool) -> None:
        """Count a probe's result; cross a threshold and the server moves."""
        view = self.views[i]
        if passed:
            self._fails[i] = 0
            self._passes[i] += 1
            if not view.healthy and self._passes[i] >= self._healthy_n:
                view.healthy = True
                self.returns += 1
                self._moved(time, i, "restored")
        else:
            self._passes[i] = 0
            self._fails[i] += 1
            if view.healthy and self._fails[i] >= self._unhealthy_n:
                view.healthy = False
                self.removals += 1
                self._moved(time, i, "removed")

    # ------------------------------------------------------------------ outlier ejection

    def failed(self, time: float, call: Call) -> None:
        """A call through the balancer failed: count it against its server, if at one."""
        i = self._by_place.get(call.place, -1)
        if i >= 0:
            self.replied(time, i, False)

    def replied(self, time: float, i: int, answered: bool) -> None:
        """Server ``i`` answered a call (``answered``) or failed it."""
        if answered:
            self._streak[i] = 0
            return
        self._streak[i] += 1
        view = self.views[i]
        if (
            self._streak[i] >= self._threshold
            and not view.ejected
            and self._n_ejected < self._allowed
        ):
            self._eject(time, i)

    def _eject(self, time: float, i: int) -> None:
        view = self.views[i]
        recent = self._times[i]
        if recent:  # one fewer for each ejection time spent back in rotation
            recent = max(recent - int((time - self._back_at[i]) // self._eject_s), 0)
        recent += 1
        self._times[i] = recent
        view.ejected = True
        self._streak[i] = 0
        self._n_ejected += 1
        self.ejections += 1
        self._moved(time, i, "ejected")
        duration = min(self._eject_s * recent, self._longest_s)
        self._ctx.kernel.schedule(time + duration, self._unejected, i)

    def _unejected(self, time: float, i: int) -> None:
        self.views[i].ejected = False
        self._n_ejected -= 1
        self._back_at[i] = time
        self._streak[i] = 0
        self._moved(time, i, "returned")

    # ------------------------------------------------------------------ rotation

    def _moved(self, time: float, i: int, what: str) -> None:
        view = self.views[i]
        delta = view.settle()
        if delta:
            self._level.change(time, float(delta))
        if len(self.changes) < MAX_CHANGES:
            self.changes.append((time, view.server.id, what))

    def watch_site(self, site: CallSite, indices: Sequence[int]) -> None:
        """Watch the replies and failures of the calls ``site`` sends through the balancer.

        Args:
            site: A call site whose target is this balancer.
            indices: The server index (``Server.index``) of each covered server,
                in the balancer's order.
        """
        caller: Any = site.caller
        for i, index in enumerate(indices):
            edge: Any = site.reply_edges[index]
            watch = ReplyWatch(self, i, caller.on_reply)
            site.replies[index] = edge.connect_event(watch.arrive)
        site.caller = WatchedCaller(caller, self)

    def figures(self) -> dict[str, Any]:
        """What the policies did: counts, and the first rotation changes."""
        out: dict[str, Any] = {}
        if self.checks:
            out |= {
                "probes": self.probes,
                "failed_probes": self.failed_probes,
                "health_check_removals": self.removals,
                "health_check_returns": self.returns,
            }
        if self.observes:
            out["ejections"] = self.ejections
        out["rotation_changes"] = [
            {"t_s": t, "server": sid, "change": what} for t, sid, what in self.changes
        ]
        return out


class ReplyWatch:
    """Delivers replies from one server to a caller, noting each at the balancer."""

    __slots__ = ("_deliver", "_health", "_index")

    def __init__(self, health: BalancerHealth, index: int, deliver: Deliver) -> None:
        self._health = health
        self._index = index
        self._deliver = deliver

    def arrive(self, time: float, call: Call) -> None:
        """A reply arrives at its caller, having crossed the balancer."""
        if not call.cancelled:
            self._health.replied(time, self._index, call.code == COMPLETED_CODE)
        self._deliver(time, call)


class WatchedCaller:
    """A caller whose calls' failures through a balancer are noted there first."""

    __slots__ = ("_caller", "_health", "id")

    def __init__(self, caller: Any, health: BalancerHealth) -> None:
        self.id: str = caller.id
        self._caller = caller
        self._health = health

    def on_reply(self, time: float, call: Call) -> None:
        """A reply arrives back."""
        self._caller.on_reply(time, call)

    def on_failure(self, time: float, call: Call) -> None:
        """A failure arrives back: the balancer notes it against its server."""
        if not call.cancelled:
            self._health.failed(time, call)
        self._caller.on_failure(time, call)


def health_figures(health: dict[str, BalancerHealth]) -> dict[str, Any]:
    """The summary's ``policies.balancers`` part: empty without health policies."""
    if not health:
        return {}
    return {"balancers": {bid: h.figures() for bid, h in health.items()}}
