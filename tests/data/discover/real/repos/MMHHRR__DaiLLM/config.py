import os



# # OpenAI配置
OPENAI_API_KEY = ""
OPENAI_BASE_URL = ""
LLM_MODEL_P = "gpt-4o-mini"
LLM_MODEL_G = "gpt-4o-mini"
LLM_MODEL_D = "gpt-4o-mini"


# # Ollama
# OPENAI_API_KEY = "ollama"
# OPENAI_BASE_URL = "http://localhost:6006/v1/"
# LLM_MODEL_P = "qwen3:8b"
# LLM_MODEL_G = "qwen3:8b"
# LLM_MODEL_D = "qwen3:8b"
