"""The ``asyncflow`` command line.

Commands::

    asyncflow run SCENARIO|--example NAME [--seed N] [--quiet] [--warm-up S|auto]
                  [--out DIR] [--requests-format csv|parquet|none] [--summary-json PATH]
                  [--report PATH.html] [--trace PATH.json] [--trace-rate R] [--trace-slowest N]
                  [--runs N] [--jobs J] [--confidence C] [--slo OBJECTIVE]...
                  [--precision P] [--max-runs M] [--metric PATTERN]... [--dask ADDRESS]
    asyncflow compare A B [--runs N] [--seed N] [--jobs J] [--confidence C] [--warm-up S|auto]
                  [--metric PATTERN]... [--dask ADDRESS] [--out DIR] [--summary-json PATH]
                  [--quiet]
    asyncflow validate SCENARIO
    asyncflow schema
    asyncflow examples [NAME]
    asyncflow --version

Modules: :mod:`~asyncflow.cli.run` (single runs), :mod:`~asyncflow.cli.ensemble`
(``run --runs``), :mod:`~asyncflow.cli.compare`, :mod:`~asyncflow.cli.scenarios`
(``validate``, ``schema``), :mod:`~asyncflow.cli.examples`; the options shared
by several commands are in :mod:`~asyncflow.cli.options`, output paths in
:mod:`~asyncflow.cli.outputs`.

Exit codes: 0 success; 1 a run failed or an output could not be written;
2 the scenario is missing, unreadable or invalid, or the command line is
wrong. Problems with the user's input are printed one per line on stderr,
never as a traceback; genuine bugs still raise.
"""

from asyncflow.cli.app import app, main

__all__ = ["app", "main"]
