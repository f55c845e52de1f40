"""The main window and what only it uses: the window (main_window), starting it (app), the run
controls, the File menu and its exports, the banner, dialogs, the window's size and the
preflight of the system libraries Qt needs."""
