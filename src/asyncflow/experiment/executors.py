"""Where replications run, and the loop that hands them out.

- In this process, one after the other (``jobs=1``): no pool, no pickling.
- A local pool of processes (the default, one per core). Workers are
  started with ``spawn``, safe with threads in the parent (the progress bar)
  and the same on every platform; as with any process pool, a script that
  starts one must guard its entry point with ``if __name__ == "__main__":``.
- Any :class:`concurrent.futures.Executor` the caller owns, including a Dask
  ``distributed.Client`` (its ``get_executor()`` is used) — see
  :func:`dask_executor` for a cluster given by its address.

:func:`run_ordered` keeps a bounded number of runs in flight and delivers
records in replication order, whatever order they finish in, so a stopping
rule sees the same sequence on any executor.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from asyncflow.experiment import arguments
from asyncflow.experiment.record import RunRecord, RunTask, simulate_run

__all__ = ["DASK_HINT", "available_cores", "dask_executor", "run_ordered", "worker_count"]

DASK_HINT = "Dask support needs the dask extra: pip install 'asyncflow[dask]'"
IN_FLIGHT_PER_WORKER = 2
UNKNOWN_WORKERS = 16  # assumed capacity of an executor that does not say


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - platforms without affinity


def as_executor(executor: Any) -> Executor:
    """Accept a ``concurrent.futures.Executor`` or a Dask ``Client``."""
    if isinstance(executor, Executor):
        return executor
    get_executor = getattr(executor, "get_executor", None)
    if callable(get_executor):
        result = get_executor(pure=False)
        if isinstance(result, Executor):
            return result
    raise arguments.type_error(
        "executor", "a concurrent.futures.Executor or a dask.distributed.Client", executor
    )


def worker_count(executor: Executor) -> int:
    """How many runs the executor can work on at once, as far as it tells."""
    client = getattr(executor, "_client", None)  # dask's ClientExecutor
    if client is not None and callable(getattr(client, "nthreads", None)):
        threads = client.nthreads()
        return max(1, sum(int(n) for n in threads.values()))
    workers = getattr(executor, "_max_workers", None)  # the standard pools
    if isinstance(workers, int) and workers > 0:
        return workers
    return UNKNOWN_WORKERS


@contextmanager
def local_pool(jobs: int) -> Iterator[Executor | None]:
    """A process pool of ``jobs`` workers, or ``None`` (run inline) for one job."""
    if jobs <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """Connect to a Dask scheduler and yield an executor on its workers.

    The workers need AsyncFlow installed (the same version as here).

    Args:
        address: Scheduler address, e.g. ``tcp://10.0.0.5:8786``.

    Raises:
        ImportError: ``distributed`` is not installed (message says how).
    """
    arguments.text("address", address, "a scheduler address such as 'tcp://10.0.0.5:8786'")
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(DASK_HINT) from exc
    client = Client(address)  # type: ignore[no-untyped-call]
    try:
        yield client.get_executor(pure=False)  # type: ignore[no-untyped-call]
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _inline(task: RunTask) -> Future[RunRecord]:
    future: Future[RunRecord] = Future()
    try:
        future.set_result(simulate_run(task))
    except BaseException as error:
        future.set_exception(error)
    return future


def run_ordered(
    tasks: Iterable[RunTask],
    consume: Callable[[RunRecord], bool],
    *,
    executor: Executor | None,
) -> None:
    """Run ``tasks`` and pass each record to ``consume`` in task order.

    At most ``2 × workers`` runs are submitted or waiting to be consumed at
    any time, so memory stays bounded and stopping wastes little work.

    Args:
        tasks: Tasks with consecutive indices, in order; may be endless.
        consume: Called with each record in index order; returns True to stop.
        executor: Where to run; ``None`` runs each task inline.

    Raises:
        Exception: Whatever a run raised (the remaining runs are cancelled).
    """
    if executor is None:
        submit: Callable[[RunTask], Future[RunRecord]] = _inline
        window = 1
    else:
        pool = executor

        def submit(task: RunTask) -> Future[RunRecord]:
            return pool.submit(simulate_run, task)

        window = IN_FLIGHT_PER_WORKER * worker_count(executor)
    source = iter(tasks)
    pending: dict[Future[RunRecord], int] = {}
    ready: dict[int, RunRecord] = {}
    expected: int | None = None
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) + len(ready) < window:
                task = next(source, None)
                if task is None:
                    exhausted = True
                    break
                expected = task.index if expected is None else expected
                pending[submit(task)] = task.index
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                ready[pending.pop(future)] = future.result()
            while expected in ready:
                record = ready.pop(expected)
                expected += 1
                if consume(record):
                    return
    finally:
        for future in pending:
            future.cancel()
