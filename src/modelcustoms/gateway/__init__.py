"""The gateway: an OpenAI-compatible proxy that serves only passported models under origin-aware rules."""
