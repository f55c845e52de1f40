"""The Landscape tab: the loss of the Training tab's network along a line from its initial
weights (line_view), on a plane through its weights (plane_view), on the plane of its path
(path_view), and how sharp the ground is along the run (sharpness_view); the heatmap with
contours the plane and the path share (surface), what every view is (view), and the tab that
asks the run for a copy and computes a view off the GUI thread (tab)."""
