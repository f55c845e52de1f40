"""The Gradient check tab: backprop against finite differences (tab), the error against the
step h (h_sweep_view) and numpy.gradient on a curve (numpy_gradient_panel)."""
