"""Data the playground trains on: IDX files, the bundled MNIST, toy sets and the linear system."""

from gdplayground.data.datasets import Dataset, Split, load_dataset
from gdplayground.data.idx import DataError, read_idx

__all__ = ["Dataset", "Split", "load_dataset", "DataError", "read_idx"]
