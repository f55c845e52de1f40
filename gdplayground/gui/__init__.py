"""The Qt side: the window, its tabs and what they share.

    window/          the main window, which composes the tabs, and what only it uses
    widgets/         what several tabs share: plots and their export, fields, work in the
                     background, the run's messages, Qt helpers
    training/        the Training tab, its panels and the training worker thread
    optimizers/      the Optimizers tab: the race on a surface
    gradient_check/  the Gradient check tab
    inside/          the Inside tab: the network's pictures and distributions
    runs/            the Runs tab: kept runs, their keeper and the sweeps

A tab package never imports another tab's, nor the window (pyproject.toml's import contracts)."""
