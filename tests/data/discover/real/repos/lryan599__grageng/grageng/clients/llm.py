

import litellm




class LiteLLMChatClient:
    def __init__(self, model_name: str):
        self.model_name = model_name














        resp = litellm.completion(model=self.model_name, messages=messages, **kwargs)
















        resp = await litellm.acompletion(
            model=self.model_name, messages=messages, **kwargs
        )



if __name__ == "__main__":
    client = LiteLLMChatClient("deepseek/deepseek-chat")
    print(client.chat("你是谁？"))
