"""The vault: approved models kept as content-addressed OCI artifacts in storage the company controls."""
