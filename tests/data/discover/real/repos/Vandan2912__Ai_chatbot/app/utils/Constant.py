LLM_MODEL="deepseek-v2:16b"

# Available Models:
# Ollama Models:
# 1. llama3.1:8b
# 2. deepseek-v2:16b

# OpenAI Models (requires OPENAI_API_KEY environment variable):
# 3. gpt-3.5-turbo
# 4. gpt-4
# 5. gpt-4-turbo
# 6. gpt-4o
# 7. gpt-4o-mini

# DeepSeek Models (requires DEEPSEEK_API_KEY environment variable):
# 8. deepseek-chat
