"""Datastore panels of the dashboard and the terminal: databases, pools and caches.

Each database gets its busy workers (``workers`` as a dashed limit) and its
queue for a worker, and its open connections (``max_connections``); each
pool its connections in use (``size``) and the queries waiting; each cache
its hit ratio over time and, with a store, the items it holds
(``capacity_items``). Levels are drawn as the servers' are: the bin mean,
and the bin maximum lighter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncflow.analysis.datastores import hit_ratio_series
from asyncflow.report.axes import draw_limit, finish_time_axes, steps
from asyncflow.report.safe import mpl_text, plotly_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from matplotlib.axes import Axes

    from asyncflow.results import Results

    Panel = Callable[[Axes], object]

__all__ = [
    "datastore_figures",
    "datastore_rows",
    "datastore_table_rows",
    "plot_hit_ratio",
    "plot_store_levels",
]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def plot_store_levels(
    results: Results,
    ax: Axes,
    node: str,
    levels: tuple[tuple[str, str, float | None], ...],
    *,
    title: str,
    ylabel: str,
) -> Axes:
    """Draw levels of a datastore, each ``(metric, words, limit or None)``."""
    for index, (metric, words, limit) in enumerate(levels):
        color = _COLORS[index % len(_COLORS)]
        level = results.series(metric, node)
        steps(ax, level.t, level.mean, level.bin_s, label=f"{words} (bin mean)", color=color)
        steps(
            ax, level.t, level.max, level.bin_s, label=f"{words} (bin max)", color=color, light=True
        )
        if limit is not None:
            draw_limit(ax, limit, label=f"limit {limit:g}", color=color)
    finish_time_axes(results, ax, title=f"{mpl_text(node)}: {title}", ylabel=ylabel)
    return ax


def plot_hit_ratio(results: Results, ax: Axes, cache_id: str) -> Axes:
    """Draw a cache's hit ratio per bin (gaps where no lookup was made)."""
    t, ratio = hit_ratio_series(results, cache_id)
    steps(ax, t, ratio, results.bin_s, label="hit ratio (lookups of the bin)", color=_COLORS[2])
    finish_time_axes(results, ax, title=f"{mpl_text(cache_id)}: hit ratio", ylabel="fraction")
    ax.set_ylim(0.0, 1.05)
    return ax


def datastore_rows(results: Results) -> list[list[tuple[int, Panel]]]:
    """Dashboard rows: one per database, one per pool pair of charts, one per cache."""
    stores = results.datastores
    rows: list[list[tuple[int, Panel]]] = []
    for db_id, db in stores.databases.items():
        rows.append(_node_row(results, db_id, float(db.workers), db.max_connections, "queries"))
    for pool_id, pool in stores.pools.items():
        levels = (("in_use", "in use", float(pool.size)), ("waiting", "waiting", None))
        rows.append([(12, _levels_panel(results, pool_id, levels, "pool", "connections"))])
    for cache_id, cache in stores.caches.items():
        row: list[tuple[int, Panel]] = [(6, _hit_ratio_panel(results, cache_id))]
        if cache.capacity_items is not None:
            items = (("items", "items held", float(cache.capacity_items)),)
            row.append((6, _levels_panel(results, cache_id, items, "items", "items")))
        else:
            row = [(12, row[0][1])]
        rows.append(row)
        node = stores.cache_nodes.get(cache_id)
        if node is not None:
            rows.append(_node_row(results, cache_id, float(node.workers), None, "lookups"))
    return rows


def _hit_ratio_panel(results: Results, cache_id: str) -> Panel:
    def panel(ax: Axes) -> object:
        return plot_hit_ratio(results, ax, cache_id)

    return panel


def _node_row(
    results: Results, node: str, workers: float, max_connections: int | None, what: str
) -> list[tuple[int, Panel]]:
    workers_levels = (
        ("busy_cores", "busy workers", workers),
        ("ready_queue", f"{what} waiting", None),
    )
    limit = float(max_connections) if max_connections is not None else None
    open_levels = (("connections", "open connections", limit),)
    return [
        (8, _levels_panel(results, node, workers_levels, "workers", what)),
        (4, _levels_panel(results, node, open_levels, "connections", "connections")),
    ]


def _levels_panel(
    results: Results,
    node: str,
    levels: tuple[tuple[str, str, float | None], ...],
    title: str,
    ylabel: str,
) -> Panel:
    def panel(ax: Axes) -> object:
        return plot_store_levels(results, ax, node, levels, title=title, ylabel=ylabel)

    return panel


def datastore_table_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(datastore, figure, value)`` rows for the terminal, from a run's summary."""
    rows: list[tuple[str, str, str]] = []
    for db_id, db in summary.get("databases", {}).items():
        rows.append((db_id, "workers busy", f"{db['utilization']:.0%} of {db['workers']}"))
        rows.append((db_id, "queue (mean / max)", f"{db['queue_mean']:.2f} / {db['queue_max']:g}"))
        rows.append((db_id, "refused connections", str(db["refused"])))
    for pool_id, pool in summary.get("pools", {}).items():
        in_use = f"{pool['in_use_mean']:.2f} of {pool['size']}"
        rows.append((pool_id, "connections in use (mean)", in_use))
        wait = pool["wait_mean_s"]
        shown = "-" if wait is None else f"{wait * 1000:.2f} ms"
        rows.append((pool_id, "wait for a connection (mean)", shown))
        rows.append((pool_id, "timeouts", str(pool["timeouts"])))
    for cache_id, cache in summary.get("caches", {}).items():
        ratio = cache["hit_ratio"]
        rows.append((cache_id, "hit ratio", "-" if ratio is None else f"{ratio:.1%}"))
        rows.append((cache_id, "coalesced misses", str(cache["coalesced"])))
        if cache["capacity_items"] is not None:
            rows.append((cache_id, "evictions", str(cache["evictions"])))
    return rows


# --------------------------------------------------------------------------- HTML report


def datastore_figures(results: Results) -> dict[str, Any]:
    """Plotly figures of the HTML report: the same panels as the dashboard's, by chart id."""
    from asyncflow.report import interactive as ia

    def levels(node: str, shown: tuple[tuple[str, str, float | None], ...], title: str) -> Any:
        data: list[dict[str, Any]] = []
        for index, (metric, words, limit) in enumerate(shown):
            color = _COLORS[index % len(_COLORS)]
            level = results.series(metric, node)
            data.append(ia._line(level.t, level.mean, level.bin_s, f"{words} (bin mean)", color))
            data.append(
                ia._line(
                    level.t,
                    level.max,
                    level.bin_s,
                    f"{words} (bin max)",
                    color,
                    width=0.8,
                    opacity=0.5,
                )
            )
            if limit is not None:
                data.append(ia._limit_line(results, "limit", limit, color))
        layout = ia._time_layout(results, f"{plotly_text(node)}: {title}", "level")
        return ia._over_time(data, layout)

    stores = results.datastores
    figures: dict[str, Any] = {}
    shown: tuple[tuple[str, str, float | None], ...]
    for db_id, db in stores.databases.items():
        shown = (
            ("busy_cores", "busy workers", float(db.workers)),
            ("ready_queue", "queries waiting", None),
            ("connections", "open connections", _limit(db.max_connections)),
        )
        figures[f"chart-db-{db_id}"] = levels(db_id, shown, "workers and connections")
    for pool_id, pool in stores.pools.items():
        shown = (("in_use", "in use", float(pool.size)), ("waiting", "waiting", None))
        figures[f"chart-pool-{pool_id}"] = levels(pool_id, shown, "pool")
    for cache_id in stores.caches:
        t, ratio = hit_ratio_series(results, cache_id)
        line = ia._line(t, ratio, results.bin_s, "hit ratio", _COLORS[2])
        layout = ia._time_layout(results, f"{plotly_text(cache_id)}: hit ratio", "fraction")
        figures[f"chart-cache-{cache_id}"] = ia._over_time([line], layout)
    return figures


def _limit(value: int | None) -> float | None:
    return float(value) if value is not None else None
