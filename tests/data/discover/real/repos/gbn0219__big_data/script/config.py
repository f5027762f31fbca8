## LLM CONFIG
LLM_API_KEY = ""
LLM_BASE_URL = "https://api.siliconflow.cn/v1"
LLM_MODEL = "deepseek-ai/DeepSeek-V3.2"
EMBED_API_KEY = ""
EMBED_BASE_URL = "https://api.siliconflow.cn/v1"
EMBED_MODEL = "Qwen/Qwen3-Embedding-8B"
EMBED_DIM = 4096
