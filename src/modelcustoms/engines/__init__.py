"""Engines: independent, pure functions of a subject that return facts and findings.

No engine imports another engine, prints, or decides allow/deny.
"""
