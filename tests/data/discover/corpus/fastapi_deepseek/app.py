"""Chat service. Older versions used Qwen/Qwen2-7B-Instruct locally (see docs)."""

import os

from fastapi import FastAPI
from openai import OpenAI

DEEPSEEK_BASE = "https://api.deepseek.com/v1"
CHAT_MODEL = os.getenv("CHAT_MODEL", "deepseek-chat")
# MODEL = "deepseek-reasoner"  # disabled

app = FastAPI()
client = OpenAI(api_key=os.environ["DEEPSEEK_API_KEY"], base_url=DEEPSEEK_BASE)


@app.post("/chat")
def chat(prompt: str) -> str:
    resp = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": prompt}],
    )
    return resp.choices[0].message.content or ""
