"""Sweeps: one setting or two varied over their values, a run per point of the grid and per
repeat, trained one after another, in worker processes on every core, or on a Dask cluster.

params.py: the settings a sweep can vary. plan.py: the plan, its grid and its tasks, and
run_sweep. runs.py: one run trained and reported (what every worker runs), and the executor
that trains in this process. workers.py: the executor of worker processes. cluster.py: the
executor of a Dask cluster.
"""
