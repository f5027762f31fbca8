"""The registry's web service: a JSON API (OpenAPI) and a server-rendered dashboard."""
