
from openai import OpenAI

client = OpenAI(api_key="sk-", base_url="https://api.deepseek.com/")

response = client.chat.completions.create(
    model="deepseek-chat",
    messages=[],
)
