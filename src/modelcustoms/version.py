"""The package version, in a module that imports nothing (usable from every layer)."""

__version__ = "0.1.0"
