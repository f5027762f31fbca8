"""Local models in-process: a GGUF through llama.cpp, or a folder through transformers.

Both are optional imports (the ``audit`` extra does not pull them: llama-cpp-python compiles, and
transformers needs torch). One model answers one request at a time, in a worker thread, so the
event loop keeps serving the other target. Safety: transformers loads safetensors only
(``use_safetensors=True``, never a pickle) without remote code; both render the model's chat
template through jinja2's ``ImmutableSandboxedEnvironment`` (their own code, not ours).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from modelcustoms.engines.audit.interface import AuditError, Request, Response


class LlamaCppTarget:
    """A GGUF file run by llama-cpp-python."""

    def __init__(self, path: Path, *, n_ctx: int = 4096, n_threads: int = 1) -> None:
        try:
            from llama_cpp import Llama  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            msg = "gguf: targets need llama-cpp-python (pip install llama-cpp-python)"
            raise AuditError(msg) from exc
        if not path.is_file():
            msg = f"no such GGUF file: {path}"
            raise AuditError(msg)
        self._path = path
        self._llm: Any = Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False
        )
        self._lock = asyncio.Lock()

    @property
    def id(self) -> str:
        """``gguf:<path>:<size>``."""
        return f"gguf:{self._path.resolve()}:{self._path.stat().st_size}"

    @property
    def display(self) -> str:
        """The file name."""
        return self._path.name

    @property
    def family(self) -> str | None:
        """Unknown here (the provenance engine names it)."""
        return None

    async def complete(self, request: Request) -> Response:
        """Generate in a worker thread."""
        async with self._lock:
            start = time.perf_counter()
            try:
                out = await asyncio.to_thread(
                    self._llm.create_chat_completion,
                    messages=[{"role": m.role, "content": m.content} for m in request.messages],
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    seed=request.seed,
                    response_format={"type": "json_object"} if request.json_mode else None,
                )
                choice = out["choices"][0]
                text = choice["message"].get("content") or ""
                finish = choice.get("finish_reason")
            except (ValueError, RuntimeError, KeyError) as exc:
                return Response(text="", error=f"llama.cpp: {exc}")
            return Response(text=text, finish_reason=finish, latency_s=time.perf_counter() - start)

    async def aclose(self) -> None:
        """Free the model."""
        self._llm = None


class TransformersTarget:
    """A local Hugging Face model folder (safetensors weights) run by transformers."""

    def __init__(self, path: Path) -> None:
        try:
            from transformers import (  # type: ignore[import-not-found, unused-ignore]
                AutoModelForCausalLM,
                AutoTokenizer,
            )
        except ImportError as exc:
            msg = "transformers: targets need transformers and torch installed"
            raise AuditError(msg) from exc
        self._path = path
        self._tok: Any = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        self._model: Any = AutoModelForCausalLM.from_pretrained(
            str(path), trust_remote_code=False, use_safetensors=True
        )
        self._lock = asyncio.Lock()

    @property
    def id(self) -> str:
        """``transformers:<path>``."""
        return f"transformers:{self._path.resolve()}"

    @property
    def display(self) -> str:
        """The folder name."""
        return self._path.name

    @property
    def family(self) -> str | None:
        """The config's model type."""
        return str(getattr(self._model.config, "model_type", "")) or None

    async def complete(self, request: Request) -> Response:
        """Greedy generation in a worker thread."""
        async with self._lock:
            start = time.perf_counter()
            try:
                text, finish = await asyncio.to_thread(self._generate, request)
            except (ValueError, RuntimeError) as exc:
                return Response(text="", error=f"transformers: {exc}")
            return Response(text=text, finish_reason=finish, latency_s=time.perf_counter() - start)

    def _generate(self, request: Request) -> tuple[str, str]:
        msgs = [{"role": m.role, "content": m.content} for m in request.messages]
        ids = self._tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt")
        out = self._model.generate(ids, max_new_tokens=request.max_tokens, do_sample=False)
        new = out[0][ids.shape[-1] :]
        finish = "length" if len(new) >= request.max_tokens else "stop"
        return str(self._tok.decode(new, skip_special_tokens=True)), finish

    async def aclose(self) -> None:
        """Drop the model."""
        self._model = None
