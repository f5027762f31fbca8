import litellm
from langchain_community.chat_models import ChatTongyi, ChatZhipuAI
from langchain_community.embeddings import DashScopeEmbeddings
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

llm = ChatTongyi(model="qwen-max", streaming=True)
embeddings = DashScopeEmbeddings(model="text-embedding-v2")
glm = ChatZhipuAI(model="glm-4", temperature=0.5)
local = ChatOllama(model="qwen2.5:7b", base_url="http://localhost:11434")
kimi = ChatOpenAI(
    model="moonshot-v1-8k",
    base_url="https://api.moonshot.cn/v1",
)
answer = litellm.completion(model="deepseek/deepseek-chat", messages=[])
router = ChatOpenAI(model="openrouter/qwen/qwen-2.5-72b-instruct")


def describe() -> str:
    """Uses ChatTongyi(model="qwen-turbo") by default."""
    return "deepseek/deepseek-coder is mentioned here only as text"
