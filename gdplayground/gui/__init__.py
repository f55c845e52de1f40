"""The Qt side: the window, its panels and views, and the training worker thread."""
