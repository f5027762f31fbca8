"""The audit engine: behavioral probe suites run against a target and a reference model."""
