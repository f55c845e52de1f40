"""The Training tab: its plots and pictures (tab), the experiment's panels, the coach's panel,
the paces, and the worker thread that trains the network (worker)."""
