"""What several tabs share: the plots and their export, fields bound to the configuration, work
in the background with progress and Cancel, the messages of a training run, kept runs drawn
over a plot, garbage collection on the GUI thread, and the Qt helpers (qt)."""
