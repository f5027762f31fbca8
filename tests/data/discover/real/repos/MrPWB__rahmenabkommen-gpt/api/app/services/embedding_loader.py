from langchain_community.embeddings import SentenceTransformerEmbeddings

from langchain.chat_models import ChatOpenAI

embedding_model = SentenceTransformerEmbeddings(model_name="all-MiniLM-L6-v2")







llm = ChatOpenAI(model="gpt-5-mini", temperature=1)
