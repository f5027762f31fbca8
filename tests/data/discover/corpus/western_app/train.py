import os

from transformers import pipeline
from vllm import LLM

BASE = os.environ.get("BASE_MODEL", "meta-llama/Llama-3.1-8B-Instruct")
gen = pipeline("text-generation", model=BASE)
llm = LLM(model="mistralai/Mistral-7B-Instruct-v0.3")
classifier = pipeline("sentiment-analysis")
