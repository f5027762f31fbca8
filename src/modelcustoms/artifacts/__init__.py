"""Byte access shared by engines: bounded readers, format sniffing, container parsing. No judgements."""
