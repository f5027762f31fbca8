"""General gaps found on the real-repository corpus (none is specific to one repository)."""

from __future__ import annotations

from modelcustoms.engines.discover.python_ast import scan_python
from modelcustoms.engines.discover.resolve import resolve
from modelcustoms.engines.discover.text import scan_line
from modelcustoms.engines.discover.vocab import default_vocabulary


def test_a_provider_pattern_does_not_match_inside_another_providers_name() -> None:
    vocab = default_vocabulary()
    # Zhipu's "embedding-3" is a suffix of OpenAI's "text-embedding-3-small".
    assert vocab.provider_of_model("text-embedding-3-small").id == "openai-api"  # type: ignore[union-attr]
    assert vocab.provider_of_model("embedding-3").id == "zhipu-bigmodel"  # type: ignore[union-attr]


def test_dockerfile_legacy_env_form_names_a_model() -> None:
    vocab = default_vocabulary()
    hits = list(scan_line(vocab, "ENV MODEL qwen2.5:0.5b", 17))
    assert [(h.model, h.line) for h in hits] == [("qwen2.5:0.5b", 17)]
    assert resolve(vocab, hits[0], "Dockerfile").publisher == "alibaba"
    assert not list(scan_line(vocab, "ENV OLLAMA_MODELS /models", 7))
    assert not list(scan_line(vocab, "ENV MODEL_DIR /srv/models", 8))


def test_sentence_transformer_embeddings_loads_hub_ids_not_local_paths() -> None:
    src = (
        "from langchain_community.embeddings import SentenceTransformerEmbeddings\n"
        "e = SentenceTransformerEmbeddings(model_name='BAAI/bge-m3')\n"
        "f = SentenceTransformerEmbeddings(model_name='./local/dir')\n"
    )
    hits, error = scan_python(default_vocabulary(), src)
    assert error is None
    assert [(h.model, h.line) for h in hits] == [("BAAI/bge-m3", 2)]
