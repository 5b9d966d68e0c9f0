"""A stand-in for a newer conductor (see ../README.md)."""

__version__ = "0.2.0"
