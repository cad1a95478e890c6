"""alphabench: the "learn the alphabet" LSTM tutorial as a regression suite for Keras."""

__version__ = "0.1.0"
