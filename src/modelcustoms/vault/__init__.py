"""The vault: approved models kept as content-addressed OCI artifacts the company controls."""
