"""The labs' computations: pure NumPy, no Qt, usable headless; the window's tabs and the command
line draw and print what they compute.

- race.py, surfaces.py, expression.py: the optimizer race on a surface, the surfaces, and the
  safe parser of typed formulas
- gradient_lab.py, numpy_gradient.py: backprop against finite differences, and numpy.gradient
- sweep.py: a setting varied over values, each trained from the same start
- diagnostics.py: the coach, which reads a run's step reports and names what goes wrong
- inside.py, diagram.py: what a trained network gets wrong and looks at; its units over the plane

The labs use the engine (gdplayground.engine), which never imports them; they import no Qt and
nothing of the window (pyproject.toml's import contracts).
"""
