"""The gateway: an OpenAI-compatible proxy serving only passported models, origin-aware."""
