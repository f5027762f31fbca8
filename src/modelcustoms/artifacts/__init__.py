"""Byte access shared by engines: bounded readers, sniffing, container parsing; no judgements."""
