"""Tokenizer fingerprint: special tokens by id, chat-template markers, vocabulary fingerprints.

A fine-tune can add tokens but rarely changes the base vocabulary, so the fingerprint keeps
the two apart: ``vocab_hash`` covers only the base vocabulary of ``tokenizer.json`` (token,
id pairs of the model's vocab, without the added tokens) and ``merges_hash`` its BPE merges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from modelcustoms.artifacts.gguf import GGUFArray, GGUFFile
from modelcustoms.engines.provenance.metadata import FileRef, Metadata

MAX_IDS = 100_000
MAX_TOKEN = 256


@dataclass(slots=True)
class TokenizerPrint:
    """What the tokenizer files say."""

    ids: dict[int, str] = field(default_factory=dict)
    """Token id → content for added/special tokens (and bos/eos ids from the configs)."""
    specials: set[str] = field(default_factory=set)
    tokenizer_class: str | None = None
    vocab_len: int | None = None
    """Tokens the tokenizer defines (base vocabulary plus added tokens), when known."""
    chat_template: str = ""
    pre: str | None = None
    """llama.cpp pre-tokenizer name (GGUF ``tokenizer.ggml.pre``)."""
    vocab_hash: str | None = None
    merges_hash: str | None = None
    sources: list[FileRef] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no tokenizer information was found."""
        return not (self.ids or self.specials or self.tokenizer_class or self.vocab_len or self.pre)


def fingerprint(meta: Metadata) -> TokenizerPrint:
    """Build the fingerprint from every tokenizer-related file that was read."""
    tp = TokenizerPrint()
    tc, tref = meta.doc("tokenizer_config"), meta.ref("tokenizer_config")
    if tc is not None and tref is not None:
        tp.sources.append(tref)
        _from_tokenizer_config(tp, tc)
    stm, sref = meta.doc("special_tokens_map"), meta.ref("special_tokens_map")
    if stm is not None and sref is not None:
        tp.sources.append(sref)
        for key, value in list(stm.items())[:1000]:
            _special(tp, value if key != "additional_special_tokens" else None)
            if key == "additional_special_tokens" and isinstance(value, list):
                for v in value[:MAX_IDS]:
                    _special(tp, v)
    added, aref = meta.doc("added_tokens"), meta.ref("added_tokens")
    if added is not None and aref is not None:
        tp.sources.append(aref)
        for content, idx in list(added.items())[:MAX_IDS]:
            if isinstance(idx, int) and not isinstance(idx, bool):
                _set_id(tp, idx, content)
    if meta.tokenizer_json is not None:
        tp.sources.append(meta.tokenizer_json[0])
        _from_tokenizer_json(tp, meta.tokenizer_json[1])
    if meta.gguf is not None and meta.gguf_ref is not None:
        _from_gguf(tp, meta.gguf, meta.gguf_ref)
    _bind_config_ids(tp, meta)
    if meta.chat_template:
        tp.chat_template = meta.chat_template
    return tp


def _from_tokenizer_config(tp: TokenizerPrint, tc: dict[str, Any]) -> None:
    if isinstance(tc.get("tokenizer_class"), str):
        tp.tokenizer_class = tc["tokenizer_class"][:200]
    decoder = tc.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        for key, value in list(decoder.items())[:MAX_IDS]:
            content = value.get("content") if isinstance(value, dict) else None
            if isinstance(key, str) and key.isdigit() and len(key) < 10:
                _set_id(tp, int(key), content)
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        _special(tp, tc.get(key))
    extra = tc.get("additional_special_tokens")
    if isinstance(extra, list):
        for v in extra[:MAX_IDS]:
            _special(tp, v)
    template = tc.get("chat_template")
    if isinstance(template, str):
        tp.chat_template = template[:1_000_000]
    elif isinstance(template, list):
        tp.chat_template = "\n".join(
            str(t.get("template", "")) for t in template[:16] if isinstance(t, dict)
        )[:1_000_000]


def _from_tokenizer_json(tp: TokenizerPrint, doc: dict[str, Any]) -> None:
    model = doc.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    n_base = 0
    if isinstance(vocab, dict):
        n_base = len(vocab)
        h = hashlib.sha256()
        # Sorting by id makes the digest independent of JSON key order.
        pairs = sorted(
            (i, t) for t, i in vocab.items() if isinstance(i, int) and not isinstance(i, bool)
        )
        for i, t in pairs:
            h.update(f"{i}\t{t}\n".encode("utf-8", "surrogatepass"))
        tp.vocab_hash = h.hexdigest()
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        n_base = len(vocab)
        h = hashlib.sha256()
        for item in vocab:
            if isinstance(item, list) and item and isinstance(item[0], str):
                h.update(item[0].encode("utf-8", "surrogatepass") + b"\n")
        tp.vocab_hash = h.hexdigest()
    merges = model.get("merges") if isinstance(model, dict) else None
    if isinstance(merges, list) and merges:
        h = hashlib.sha256()
        for m in merges:
            h.update((m if isinstance(m, str) else " ".join(map(str, m))).encode() + b"\n")
        tp.merges_hash = h.hexdigest()
    added = doc.get("added_tokens")
    extra = 0
    if isinstance(added, list):
        for tok in added[:MAX_IDS]:
            if isinstance(tok, dict) and isinstance(tok.get("id"), int):
                _set_id(tp, tok["id"], tok.get("content"))
                if isinstance(vocab, dict) and tok.get("content") not in vocab:
                    extra += 1
    if n_base:
        tp.vocab_len = n_base + extra


def _from_gguf(tp: TokenizerPrint, gguf: GGUFFile, ref: FileRef) -> None:
    tp.sources.append(ref)
    pre = gguf.get("tokenizer.ggml.pre")
    if isinstance(pre, str):
        tp.pre = pre[:100]
    tokens = gguf.get("tokenizer.ggml.tokens")
    if isinstance(tokens, GGUFArray):
        tp.vocab_len = tokens.count
        tp.vocab_hash = tp.vocab_hash or tokens.digest
        for i, t in enumerate(tokens.items):
            if isinstance(t, str) and t.startswith(("<", "[")):
                _set_id(tp, i, t)
    for key in ("bos", "eos", "unknown", "padding"):
        idx = gguf.get(f"tokenizer.ggml.{key}_token_id")
        if isinstance(idx, int) and isinstance(tokens, GGUFArray) and 0 <= idx < len(tokens.items):
            _set_id(tp, idx, tokens.items[idx])
    template = gguf.get("tokenizer.chat_template")
    if isinstance(template, str) and not tp.chat_template:
        tp.chat_template = template[:1_000_000]


def _bind_config_ids(tp: TokenizerPrint, meta: Metadata) -> None:
    """Pair ``bos_token_id``/``eos_token_id`` from the configs with the special tokens' text."""
    stm = meta.doc("special_tokens_map") or {}
    tc = meta.doc("tokenizer_config") or {}
    for role in ("config", "generation"):
        cfg = meta.doc(role) or {}
        for key in ("bos", "eos", "pad"):
            idx = cfg.get(f"{key}_token_id")
            content = _content(stm.get(f"{key}_token")) or _content(tc.get(f"{key}_token"))
            if isinstance(idx, int) and not isinstance(idx, bool) and content:
                tp.ids.setdefault(idx, content)


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value[:MAX_TOKEN] if isinstance(value, str) and value else None


def _special(tp: TokenizerPrint, value: Any) -> None:
    content = _content(value)
    if content and len(tp.specials) < MAX_IDS:
        tp.specials.add(content)


def _set_id(tp: TokenizerPrint, idx: int, content: Any) -> None:
    text = _content(content)
    if text is None or not 0 <= idx < 10_000_000 or len(tp.ids) >= MAX_IDS:
        return
    tp.ids.setdefault(idx, text)
    tp.specials.add(text)
