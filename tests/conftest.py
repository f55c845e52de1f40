import os

# Qt tests run without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# pytest-xdist runs a worker per core: one BLAS thread each, so that workers never contend for
# cores (before NumPy is first imported, which reads this once).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
