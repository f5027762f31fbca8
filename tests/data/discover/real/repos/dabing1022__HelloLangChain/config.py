# LLM 模型配置
OPENROUTER_DEEPSEEK_MODEL = "deepseek/deepseek-chat-v3-0324:free"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"

DEEPSEEK_MODEL = "deepseek-chat"
DEEPSEEK_BASE_URL = "https://api.deepseek.com/v1"

# 嵌入模型配置
EMBEDDING_MODEL = "text-embedding-3-small"
TUZI_BASE_URL = "https://api.tu-zi.com/v1"
