
from litellm import completion







def get_llm_response(message):
    response = completion(
        model="deepseek/deepseek-chat",
        temperature = 0.7,
        api_key = api_key,
        messages=message,
        stream=False
    )
    return response
