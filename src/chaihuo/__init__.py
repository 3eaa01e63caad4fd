"""chaihuo: a federated learning platform where every party's raw records stay with their owner."""

__version__ = "0.1.0"
__all__ = ["__version__"]
