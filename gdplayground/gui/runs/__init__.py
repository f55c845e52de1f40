"""The Runs tab: the kept runs (tab), keeping them (run_keeper), and the sweeps over one
setting (sweep_panel, sweep_runner, sweep_result_view)."""
