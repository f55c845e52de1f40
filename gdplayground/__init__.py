"""gdplayground: watch gradient descent train a neural network, live, and take it apart."""

__version__ = "0.1.1"
