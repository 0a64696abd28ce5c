"""The engine's version, in a module of its own so stage modules need not import the package."""

__all__ = ["__version__"]

__version__ = "0.1.0"
