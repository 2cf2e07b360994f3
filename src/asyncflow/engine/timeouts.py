"""Constant timeouts for a queue, swept by one pending event.

Items that all expire the same time after they enter (idle keep-alive
connections, waits for a pooled connection, a workload's client timeout)
expire in the order they entered. Instead of one timer event per item, a
:class:`DeadlineQueue` keeps them in a FIFO and keeps one kernel event
pending, at the oldest item's deadline; when it fires, every item due is
expired and the event moves to the next deadline. Removing an item before
its deadline is O(1) (it is marked and skipped).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from asyncflow.engine.kernel import Kernel

Expire = Callable[[float, Any], None]


class Deadline:
    """An item's place in a :class:`DeadlineQueue`."""

    __slots__ = ("at", "item", "live")

    def __init__(self, item: Any, at: float) -> None:
        self.item = item
        self.at = at
        self.live = True


class DeadlineQueue:
    """Items that expire ``timeout_s`` after they enter, oldest first."""

    __slots__ = ("_entries", "_expire", "_kernel", "_pending", "timeout_s")

    def __init__(self, kernel: Kernel, timeout_s: float, expire: Expire) -> None:
        self.timeout_s = timeout_s
        self._expire = expire
        self._entries: deque[Deadline] = deque()
        self._kernel = kernel
        self._pending = False

    def __len__(self) -> int:
        return sum(1 for e in self._entries if e.live)

    def add(self, time: float, item: Any) -> Deadline:
        """Start ``item``'s timeout now."""
        entry = Deadline(item, time + self.timeout_s)
        self._entries.append(entry)
        if not self._pending:
            self._arm(entry.at)
        return entry

    def pop_newest(self) -> Any:
        """Take the item that entered last out of the queue (None when empty)."""
        entries = self._entries
        while entries:
            entry = entries.pop()
            if entry.live:
                entry.live = False
                return entry.item
        return None

    @staticmethod
    def remove(entry: Deadline) -> None:
        """Stop an item's timeout (it will not expire)."""
        entry.live = False

    def _arm(self, at: float) -> None:
        self._pending = True
        self._kernel.push(at, self._sweep, None)

    def _sweep(self, time: float, _: object) -> None:
        # Still marked pending while sweeping: an add() from inside an expiry
        # does not arm an event of its own; the one armed below covers it.
        entries = self._entries
        while entries and (not entries[0].live or entries[0].at <= time):
            entry = entries.popleft()
            if entry.live:
                entry.live = False
                self._expire(time, entry.item)
        self._pending = False
        if entries:
            self._arm(entries[0].at)
