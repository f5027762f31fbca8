





from .openai_compatible_provider import OpenAICompatibleProvider

class KimiProvider(OpenAICompatibleProvider):
    """Moonshot (Kimi) provider."""





    DEFAULT_BASE_URL = "https://api.moonshot.cn/v1"
    DEFAULT_MODEL = "moonshot-v1-8k"
    PROVIDER_NAME = "kimi"


    AVAILABLE_MODELS = [
        "kimi-k2-0711-preview",
    ]
