"""Offline scorers: deterministic checks, multilingual lexicons, an optional embedding scorer."""
