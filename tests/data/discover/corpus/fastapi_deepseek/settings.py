from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    """Runtime settings."""

    embedding_model: str = "BAAI/bge-m3"
    reasoner: str = "deepseek-reasoner"


MODELS = {"small": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "large": "deepseek-ai/DeepSeek-V3"}
