"""What a run leaves on disk and reads back, no Qt: its weights as a checked .npz (weights.py,
read through npz.py, which trusts no header), the run folder that `gdplayground train` and
Export run write (export.py, with the ONNX model of onnx_export.py), and the list of kept runs
(runs.py).

The store uses the engine; the engine, the labs and the data never import it. Writing a file
so that a crash leaves no half of it, and reading one safely, is gdplayground/files.py's, which
the configuration and the data use too.
"""
