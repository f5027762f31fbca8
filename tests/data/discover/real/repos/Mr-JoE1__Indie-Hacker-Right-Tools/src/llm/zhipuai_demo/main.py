
from zhipuai import ZhipuAI

def main():
    client = ZhipuAI(api_key="")
    return client.chat.completions.create(
        model="glm-4",
        messages=[],
    )
