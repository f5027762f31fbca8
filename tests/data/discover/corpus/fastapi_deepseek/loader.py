from sentence_transformers import SentenceTransformer
from transformers import AutoModelForCausalLM, AutoTokenizer

from .settings import MODELS, Settings

settings = Settings()
embedder = SentenceTransformer(settings.embedding_model)
tok = AutoTokenizer.from_pretrained(MODELS["small"])
model = AutoModelForCausalLM.from_pretrained(f"{MODELS['small']}", trust_remote_code=False)
local = AutoModelForCausalLM.from_pretrained("./checkpoints/finetuned")
