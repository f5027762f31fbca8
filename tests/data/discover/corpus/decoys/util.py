"""Helpers. Example: from_pretrained("Qwen/Qwen2-1.5B")."""

# client = OpenAI(base_url="https://api.deepseek.com")
# model = AutoModel.from_pretrained("THUDM/chatglm3-6b")

GITHUB = "https://github.com/QwenLM/Qwen2.5"
REPO_URL = "https://github.com/deepseek-ai/DeepSeek-V3"


def help_text() -> str:
    """Say which models are supported: qwen-max, glm-4, deepseek-chat."""
    return "supported"
