"""Bounds on scenario input, each with the reason given in its error message.

Numbers that validate must also run: every bound here keeps a scenario within
what the engine can simulate in finite time and memory, or within what a
double-precision clock can represent. ``docs/reference/scenario.md`` lists
them all (a test checks that the table and this module agree).

Bounds on one field are pydantic constraints (``le``, ``ge``, ``max_length``)
whose messages :mod:`asyncflow.scenario._messages` completes with the reason
found in :data:`FIELD_LIMITS`; bounds that depend on several fields (the
expected number of requests, the number of user windows) are checked by
:mod:`asyncflow.scenario.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "FIELD_LIMITS",
    "ID_CHARACTERS",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "ID_RULE",
    "MAX_BANDWIDTH_MBPS",
    "MAX_BODY_KB",
    "MAX_CACHE_ITEMS",
    "MAX_CALL_SITES",
    "MAX_CONNECTIONS",
    "MAX_CONNECTION_MEMORY_KB",
    "MAX_CORES",
    "MAX_DURATION_S",
    "MAX_EMPIRICAL_VALUES",
    "MAX_EVENTS",
    "MAX_EXPECTED_REQUESTS",
    "MAX_FILE_BYTES",
    "MAX_HORIZON_S",
    "MAX_INTEGER_DIGITS",
    "MAX_KEY_COUNT",
    "MAX_NAME_LENGTH",
    "MAX_NESTING",
    "MAX_NORMAL_SPREAD",
    "MAX_PARALLEL_CALLS",
    "MAX_POOL_SIZE",
    "MAX_PROFILE_POINTS",
    "MAX_QUERIES",
    "MAX_QUERY_REPEAT",
    "MAX_RAM_MB",
    "MAX_RATE_PER_USER",
    "MAX_SAMPLE_PERIODS",
    "MAX_SEED",
    "MAX_SPREAD",
    "MAX_TLS_ROUND_TRIPS",
    "MAX_USERS",
    "MAX_VALUES",
    "MAX_WEIGHT",
    "MAX_WINDOWS",
    "MAX_ZIPF_EXPONENT",
    "MIN_BANDWIDTH_MBPS",
    "MIN_DURATION_S",
    "MIN_HORIZON_S",
    "Limit",
]


@dataclass(frozen=True)
class Limit:
    """A bound on part of a scenario.

    Attributes:
        value: The bound itself.
        unit: What the value counts (``"s"``, ``"MB"``, ``"requests"``...),
            shown after it; empty for a plain number.
        reason: Why the bound exists, written to complete "must be <= X: ...".
    """

    value: int | float
    unit: str
    reason: str

    @property
    def shown(self) -> str:
        """The value and its unit, as in messages: ``1e+07 s``."""
        number = f"{self.value:,}" if isinstance(self.value, int) else f"{self.value:g}"
        return f"{number} {self.unit}".rstrip()

    def rule(self, relation: str = "<=") -> str:
        """The rule as a message reads it: ``must be <= 1e+07 s: <reason>``."""
        return f"must be {relation} {self.shown}: {self.reason}"


# --------------------------------------------------------------------------- time

MAX_HORIZON_S: Final = Limit(
    1e7,
    "s",
    "about 116 days; beyond it the simulated clock (a double) can no longer tell nanoseconds apart",
)
MIN_HORIZON_S: Final = Limit(
    1e-3, "s", "a millisecond; the engine's periodic steps are fractions of the run"
)
MIN_DURATION_S: Final = Limit(
    1e-9, "s", "a nanosecond, the resolution of the clock over the longest run"
)
MAX_DURATION_S: Final = Limit(1e7, "s", "no duration can be longer than the longest run")
MAX_WINDOWS: Final = Limit(
    1_000_000,
    "windows",
    "every user_sampling_window costs work even when no request arrives; raise "
    "user_sampling_window or shorten total_simulation_time",
)
MAX_SAMPLE_PERIODS: Final = Limit(
    1e9,
    "periods",
    "time series have at most 1,000 bins, so a finer sample_period_s shows nothing more",
)
MAX_EVENTS: Final = Limit(
    10_000, "events", "each event is scheduled and drawn in every report; merge adjacent windows"
)

# --------------------------------------------------------------------------- distributions

MAX_SPREAD: Final = Limit(
    1e6,
    "x mean**2",
    "a standard deviation over 1000 times the mean makes samples overflow or collapse to 0",
)
MAX_NORMAL_SPREAD: Final = Limit(
    0.99,
    "x mean**2",
    "closer to mean**2 the normal truncated at 0 is practically an exponential and its "
    "parameters cannot be solved reliably; use exponential, gamma or log_normal",
)
MAX_EMPIRICAL_VALUES: Final = Limit(
    1_000_000, "values", "more observations add nothing to a resampled distribution but memory"
)

# --------------------------------------------------------------------------- workload

MAX_USERS: Final = Limit(
    1e9, "users", "more than a billion active users; raise the rate per user instead"
)
MAX_RATE_PER_USER: Final = Limit(
    1e6,
    "requests per minute",
    "one user sending over 16,000 requests a second; model it as more users",
)
MAX_EXPECTED_REQUESTS: Final = Limit(
    1e8,
    "requests",
    "at about 150 bytes and 7 microseconds per request a run of 1e8 requests needs "
    "about 15 GB of memory and 15 minutes; shorten total_simulation_time or lower the "
    "load, and use replications for precision",
)
MAX_PROFILE_POINTS: Final = Limit(
    10_000, "points", "a day at one point every 10 seconds needs 8,640"
)

# --------------------------------------------------------------------------- nodes and links

MAX_CORES: Final = Limit(
    1024, "cores", "larger machines are modelled as several servers behind a load balancer"
)
MAX_RAM_MB: Final = Limit(1e9, "MB", "a petabyte")
MAX_CONNECTIONS: Final = Limit(10_000_000, "connections", "ten million sockets on one node")
MAX_CONNECTION_MEMORY_KB: Final = Limit(1e6, "KB", "a gigabyte for one connection")
MAX_POOL_SIZE: Final = Limit(1_000_000, "connections", "a million idle connections to one node")
MAX_TLS_ROUND_TRIPS: Final = Limit(
    10,
    "round trips",
    "TLS 1.3 needs 1 and TLS 1.2 needs 2; each is drawn for every new connection",
)
MIN_BANDWIDTH_MBPS: Final = Limit(
    1e-3, "Mbit/s", "1 kbit/s, slower than any real link; slower still, transfers never end"
)
MAX_BANDWIDTH_MBPS: Final = Limit(
    1e6, "Mbit/s", "1 Tbit/s, faster than any single link (use no bandwidth for unlimited)"
)
MAX_BODY_KB: Final = Limit(1e9, "KB", "a terabyte in one request or response")
MAX_WEIGHT: Final = Limit(
    1e6, "", "weights are relative: a ratio beyond a million between two adds nothing"
)
MAX_SEED: Final = Limit(2**64 - 1, "", "seeds are 64-bit unsigned integers")

# --------------------------------------------------------------------------- calls

MAX_PARALLEL_CALLS: Final = Limit(
    1_000, "calls", "a parallel step's calls are all sent at once, each a call of its own"
)
MAX_CALL_SITES: Final = Limit(
    100_000,
    "call sites",
    "every path of calls from a workload is laid out before the run (each server a call "
    "reaches multiplies the calls below it); call fewer servers or merge steps",
)

# --------------------------------------------------------------------------- databases and caches

MAX_QUERIES: Final = Limit(10_000, "queries", "each query of a database is laid out before the run")
MAX_QUERY_REPEAT: Final = Limit(
    10_000, "queries", "each repetition is a call of its own, laid out before the run"
)
MAX_CACHE_ITEMS: Final = Limit(
    10_000_000, "items", "each cached key is kept in the simulator's memory"
)
MAX_KEY_COUNT: Final = Limit(
    10_000_000, "keys", "the popularity of every key is tabulated before the run"
)
MAX_ZIPF_EXPONENT: Final = Limit(
    10, "", "beyond it, the most popular key takes practically every lookup"
)

# --------------------------------------------------------------------------- text and files

ID_MAX_LENGTH: Final = 100
ID_PATTERN: Final = r"^[A-Za-z0-9_/][A-Za-z0-9_./:>-]{0,99}$"
ID_CHARACTERS: Final = (
    f"1 to {ID_MAX_LENGTH} characters among letters, digits and _ . - / : >, "
    "starting with a letter, a digit, _ or /"
)
ID_RULE: Final = f"must be {ID_CHARACTERS} (ids reach terminals, CSV files and HTML)"
MAX_NAME_LENGTH: Final = 200

MAX_FILE_BYTES: Final = Limit(
    16 * 1024 * 1024,
    "bytes",
    "16 MiB; a scenario of 10,000 servers takes about 4 MB",
)
MAX_NESTING: Final = Limit(64, "levels", "no scenario key is nested deeper than about 12 levels")
MAX_VALUES: Final = Limit(
    2_000_000,
    "values",
    "counted with YAML aliases expanded (a small file can expand into billions)",
)
MAX_INTEGER_DIGITS: Final = Limit(100, "digits", "no scenario number needs more")

# --------------------------------------------------------------------------- field bounds

FIELD_LIMITS: Final[dict[tuple[str, str], Limit]] = {
    ("total_simulation_time", "<="): MAX_HORIZON_S,
    ("total_simulation_time", ">="): MIN_HORIZON_S,
    ("user_sampling_window", "<="): MAX_HORIZON_S,
    ("idle_timeout_s", "<="): MAX_HORIZON_S,
    ("t_s", "<="): MAX_HORIZON_S,
    ("t_start", "<="): MAX_HORIZON_S,
    ("t_end", "<="): MAX_HORIZON_S,
    ("spike_s", "<="): MAX_DURATION_S,
    ("warm_up_s", "<="): MAX_HORIZON_S,
    ("sample_period_s", "<="): MAX_HORIZON_S,
    ("events", "at most"): MAX_EVENTS,
    ("users_profile", "at most"): MAX_PROFILE_POINTS,
    ("values", "at most"): MAX_EMPIRICAL_VALUES,
    ("users", "<="): MAX_USERS,
    ("cpu_cores", "<="): MAX_CORES,
    ("ram_mb", "<="): MAX_RAM_MB,
    ("necessary_ram", "<="): MAX_RAM_MB,
    ("max_connections", "<="): MAX_CONNECTIONS,
    ("listen_backlog", "<="): MAX_CONNECTIONS,
    ("db_connection_pool", "<="): MAX_POOL_SIZE,
    ("pool_size", "<="): MAX_POOL_SIZE,
    ("connection_memory_kb", "<="): MAX_CONNECTION_MEMORY_KB,
    ("round_trips", "<="): MAX_TLS_ROUND_TRIPS,
    ("bandwidth_mbps", ">="): MIN_BANDWIDTH_MBPS,
    ("bandwidth_mbps", "<="): MAX_BANDWIDTH_MBPS,
    ("request_kb", "<="): MAX_BODY_KB,
    ("response_kb", "<="): MAX_BODY_KB,
    ("probability", "<="): MAX_WEIGHT,
    ("weights", "<="): MAX_WEIGHT,
    ("seed", "<="): MAX_SEED,
    ("calls", "at most"): MAX_PARALLEL_CALLS,
    ("workers", "<="): MAX_CORES,
    ("size", "<="): MAX_POOL_SIZE,
    ("acquire_timeout_s", "<="): MAX_DURATION_S,
    ("ttl_s", "<="): MAX_DURATION_S,
    ("hit_latency", "<="): MAX_DURATION_S,
    ("queries", "at most"): MAX_QUERIES,
    ("repeat", "<="): MAX_QUERY_REPEAT,
    ("capacity_items", "<="): MAX_CACHE_ITEMS,
    ("count", "<="): MAX_KEY_COUNT,
    ("exponent", "<="): MAX_ZIPF_EXPONENT,
}
"""(field name, relation) → its limit, for the reasons in pydantic's messages."""
