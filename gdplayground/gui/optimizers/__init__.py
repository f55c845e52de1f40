"""The Optimizers tab: update rules racing on a surface (tab, race_settings, race_view)."""
