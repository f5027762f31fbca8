"""Repository configuration files: chat templates, remote-code hooks, model types.

Which configuration a JSON document is comes from its keys (content), the file name only
breaks ties. Chat templates (``tokenizer_config.json``, ``chat_template.json``,
``chat_template.jinja``) go through :mod:`modelcustoms.engines.scan.templates`. Entries that
make transformers import Python from the repository (``auto_map``, ``custom_pipelines``, and
the diffusers / sentence-transformers equivalents) are reported: loading them needs
``trust_remote_code=True`` and runs that code. ``tokenizer.json`` is data and yields nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.templates import TEMPLATE_RULES, check_template, issue_findings

MAX_JSON_BYTES = 64 * 1024**2
_SENSITIVE = frozenset({"chat_template", "auto_map", "trust_remote_code", "custom_pipelines"})
_STD_LIBRARIES = frozenset({"diffusers", "transformers", "null", "None", ""})

# transformers ``model_type`` values (CONFIG_MAPPING); unknown ones need custom code.
_MODEL_TYPES = """
    albert align altclip aria audio-spectrogram-transformer autoformer bamba bark bart beit
    bert bert-generation big_bird bigbird_pegasus biogpt bit blenderbot blenderbot-small blip
    blip-2 bloom bridgetower bros camembert canine chameleon chinese_clip clap clip clipseg clvp
    code_llama codegen cohere cohere2 colpali conditional_detr convbert convnext convnextv2 cpmant
    ctrl cvt dab-detr dac data2vec-audio data2vec-text data2vec-vision dbrx deberta deberta-v2
    decision_transformer deepseek_v2 deepseek_v3 deformable_detr deit depth_anything detr diffllama
    dinat dinov2 distilbert donut-swin dpr dpt efficientnet electra emu3 encodec encoder-decoder
    ernie esm exaone4 falcon falcon_h1 falcon_mamba fastspeech2_conformer flaubert flava fnet
    focalnet fsmt funnel fuyu gemma gemma2 gemma3 gemma3_text gemma3n git glm glm4 glm4_moe glpn
    got_ocr2 gpt-sw3 gpt2 gpt_bigcode gpt_neo gpt_neox gpt_neox_japanese gpt_oss gptj granite
    granitemoe granitemoeshared grounding-dino groupvit helium hiera hubert ibert idefics idefics2
    idefics3 ijepa imagegpt informer instructblip jamba jetmoe kosmos-2 layoutlm layoutlmv2
    layoutlmv3 led levit lfm2 lilt llama llama4 llava llava_next llava_onevision longformer
    longt5 luke lxmert m2m_100 mamba mamba2 marian markuplm mask2former maskformer mbart mctct
    megatron-bert mgp-str mimi minimax ministral mistral mistral3 mixtral mllama mobilebert
    mobilenet_v1 mobilenet_v2 mobilevit modernbert moonshine moshi mpnet mpt mt5 musicgen
    musicgen_melody mvp nemotron nllb-moe nougat nystromformer olmo olmo2 olmoe omdet-turbo
    oneformer openai-gpt opt owlv2 owlvit paligemma patchtst pegasus pegasus_x perceiver
    persimmon phi phi3 phi4_multimodal phimoe pix2struct pixtral plbart poolformer pop2piano
    prophetnet pvt pvt_v2 qwen2 qwen2_5_omni qwen2_5_vl qwen2_audio qwen2_moe qwen2_vl qwen3
    qwen3_moe recurrent_gemma reformer regnet rembert resnet roberta roberta-prelayernorm roc_bert
    roformer rt_detr rwkv sam seamless_m4t segformer seggpt sew sew-d siglip siglip2 smollm3
    smolvlm speech-encoder-decoder speech_to_text speecht5 splinter squeezebert stablelm
    starcoder2 superpoint swiftformer swin swin2sr swinv2 switch_transformers t5 table-transformer
    tapas textnet timesformer trocr tvp udop umt5 unispeech unispeech-sat univnet upernet
    video_llava videomae vilt vipllava vision-encoder-decoder vision-text-dual-encoder
    visual_bert vit vit_mae vit_msn vitdet vitmatte vits vivit wav2vec2 wav2vec2-bert
    wav2vec2-conformer wavlm whisper xclip xglm xlm xlm-roberta xlm-roberta-xl xlnet xmod yolos
    yoso zamba zamba2 zoedepth"""
KNOWN_MODEL_TYPES = frozenset(_MODEL_TYPES.split())

CONFIG_RULES: tuple[Rule, ...] = (
    Rule(
        id="config.remote-code",
        title="Loading requires the repository's own Python code",
        severity=Severity.MEDIUM,
        help="The configuration maps classes to Python modules shipped in the repository (or "
        "another repository). Loading needs trust_remote_code=True and executes that code: "
        "review it, pin the revision, or use a model that runs on library code.",
        references=("https://huggingface.co/docs/transformers/custom_models",),
    ),
    Rule(
        id="config.trust-remote-code",
        title="Configuration enables trust_remote_code",
        severity=Severity.MEDIUM,
        help="A configuration sets trust_remote_code to true, so tools that honour it execute "
        "repository code without asking.",
    ),
    Rule(
        id="config.duplicate-key",
        title="Configuration repeats a JSON key",
        severity=Severity.MEDIUM,
        help="A key appears twice; parsers disagree on which copy wins. For security-relevant "
        "keys (chat_template, auto_map) this is parser confusion aimed at scanners.",
    ),
    Rule(
        id="config.unknown-model-type",
        title="Model type unknown to transformers",
        severity=Severity.LOW,
        help="model_type is not one transformers ships, so loading needs custom code or a newer "
        "library.",
    ),
    Rule(
        id="config.malformed",
        title="Configuration does not parse",
        severity=Severity.MEDIUM,
        help="The JSON is invalid or a field has the wrong shape; it was not verified.",
    ),
)


class ConfigAnalyzer(Analyzer):
    """HF repository JSON configs and Jinja chat-template files, recognised by content."""

    name = "configs"
    formats = frozenset({Format.JSON, Format.TEXT})
    rules = CONFIG_RULES + TEMPLATE_RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        is_jinja_name = ctx.artifact.format_hint == ".jinja"
        if ctx.artifact.format is Format.TEXT and not is_jinja_name:
            return
        if ctx.blob.size > MAX_JSON_BYTES:
            yield ctx.skip("too-large", f"{ctx.blob.size} bytes exceeds {MAX_JSON_BYTES}")
            return
        text = ctx.blob.all(MAX_JSON_BYTES).decode("utf-8", "replace").lstrip("\ufeff")
        if is_jinja_name or _looks_like_jinja(text):
            # A template starting with ``{%`` or ``{{`` is sniffed as JSON; its content decides.
            yield ctx.fact("config.kind", "chat-template")
            yield from _template(ctx, text, "template")
            return
        duplicates: list[str] = []
        try:
            doc = json.loads(text, object_pairs_hook=_pairs_into(duplicates))
        except RecursionError:
            yield ctx.finding("config.malformed", "JSON nests too deeply")
            return
        except ValueError as exc:
            yield ctx.finding("config.malformed", f"invalid JSON: {exc}")
            return
        for key in sorted(set(duplicates)):
            sev = Severity.HIGH if key in _SENSITIVE else None
            yield ctx.finding(
                "config.duplicate-key",
                f"key {key!r} appears twice",
                pointer=f"/{key}",
                severity=sev,
            )
        kind = classify(doc, ctx.artifact.path.rsplit("/", 1)[-1].rsplit("!", 1)[-1])
        yield ctx.fact("config.kind", kind)
        yield from _trust_flags(ctx, doc)
        if not isinstance(doc, dict):
            yield from _modules_json(ctx, doc)
            return
        yield from _chat_templates(ctx, doc)
        yield from _remote_code(ctx, doc, kind)
        model_type = doc.get("model_type")
        custom = isinstance(model_type, str) and model_type not in KNOWN_MODEL_TYPES
        if kind == "model-config" and custom and "auto_map" not in doc:
            assert isinstance(model_type, str)
            yield ctx.finding(
                "config.unknown-model-type",
                f"model_type {model_type[:80]!r} is not a transformers model type",
                pointer="/model_type",
                confidence=0.6,
            )


def classify(doc: Any, name: str = "") -> str:
    """Which configuration ``doc`` is, from its keys; ``name`` only breaks ties."""
    if isinstance(doc, list):
        if doc and all(isinstance(x, dict) and "type" in x and "path" in x for x in doc):
            return "sentence-transformers-modules"
        return "other"
    if not isinstance(doc, dict):
        return "other"
    keys = set(doc)
    scores = {
        "tokenizer": len(keys & {"model", "pre_tokenizer", "normalizer", "added_tokens", "decoder",
                                 "post_processor", "truncation", "padding"}),
        "tokenizer-config": len(keys & {"tokenizer_class", "added_tokens_decoder", "bos_token",
                                        "eos_token", "model_max_length", "chat_template",
                                        "clean_up_tokenization_spaces"}),
        "model-config": len(keys & {"architectures", "model_type", "hidden_size", "vocab_size",
                                    "num_hidden_layers", "torch_dtype", "transformers_version"}),
        "processor-config": len(keys & {"processor_class", "image_processor_type",
                                        "feature_extractor_type", "do_resize", "image_mean"}),
        "diffusers-index": len(keys & {"_class_name", "_diffusers_version"}),
        "generation-config": len(keys & {"_from_model_config", "do_sample", "max_new_tokens",
                                         "top_p", "top_k", "temperature"}),
    }  # fmt: skip
    if keys == {"chat_template"}:
        return "chat-template"
    best = max(scores.values())
    if best == 0:
        return "other"
    tied = [k for k, v in scores.items() if v == best]
    hints = {"tokenizer.json": "tokenizer", "tokenizer_config.json": "tokenizer-config",
             "config.json": "model-config", "model_index.json": "diffusers-index",
             "generation_config.json": "generation-config"}  # fmt: skip
    hinted = hints.get(name.lower())
    if hinted in tied:
        return hinted
    if any(k in tied for k in ("processor-config",)) and "preprocessor" in name.lower():
        return "processor-config"
    return tied[0]


def _looks_like_jinja(text: str) -> bool:
    head = text.lstrip()[:2]
    return head in ("{%", "{{", "{#")


def _pairs_into(duplicates: list[str]) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        duplicates.extend(k for k, c in Counter(k for k, _ in items).items() if c > 1)
        return dict(items)

    return pairs


def _template(
    ctx: ScanContext, text: str, pointer: str, tokens: dict[str, str] | None = None
) -> Iterator[Result]:
    issues = check_template(
        text,
        render=ctx.options.render_templates,
        timeout_s=ctx.options.template_timeout_s,
        special_tokens=tokens,
    )
    yield from issue_findings(ctx, issues, pointer)


def _chat_templates(ctx: ScanContext, doc: dict[str, Any]) -> Iterator[Result]:
    value = doc.get("chat_template")
    if value is None:
        return
    tokens = _special_tokens(doc)
    yield ctx.fact("config.chat_template_present", True, pointer="/chat_template")
    if isinstance(value, str):
        yield from _template(ctx, value, "/chat_template", tokens)
        return
    if not isinstance(value, list):
        yield ctx.finding("config.malformed", "chat_template is neither a string nor a list")
        return
    for i, entry in enumerate(value):
        if not (isinstance(entry, dict) and isinstance(entry.get("template"), str)):
            msg = f"chat_template[{i}] is not a {{name, template}} object"
            yield ctx.finding("config.malformed", msg, pointer=f"/chat_template/{i}")
            continue
        name = str(entry.get("name", i))[:80]
        yield from _template(ctx, entry["template"], f"/chat_template/{name}", tokens)


def _special_tokens(doc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = doc.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            out[key] = value
    return out


def _trust_flags(ctx: ScanContext, doc: Any) -> Iterator[Result]:
    """``trust_remote_code: true`` anywhere (sentence-transformers kwargs, pipelines ...)."""
    stack: list[tuple[Any, str]] = [(doc, "")]
    seen = 0
    while stack and seen < 200_000:
        node, path = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "trust_remote_code" and v is True:
                    yield ctx.finding(
                        "config.trust-remote-code",
                        f"{path}/{k} is true: loaders that honour it run repository code",
                        pointer=f"{path}/{k}",
                    )
                elif isinstance(v, dict | list):
                    stack.append((v, f"{path}/{k}"))
        elif isinstance(node, list):
            stack.extend(
                (v, f"{path}/{i}") for i, v in enumerate(node) if isinstance(v, dict | list)
            )


def _remote_code(ctx: ScanContext, doc: dict[str, Any], kind: str) -> Iterator[Result]:
    modules: list[str] = []
    auto_map = doc.get("auto_map")
    if isinstance(auto_map, dict):
        for value in auto_map.values():
            refs = value if isinstance(value, list) else [value]
            modules.extend(str(r)[:200] for r in refs if isinstance(r, str))
    pipelines = doc.get("custom_pipelines")
    if isinstance(pipelines, dict):
        modules.extend(
            spec["impl"][:200]
            for spec in pipelines.values()
            if isinstance(spec, dict) and isinstance(spec.get("impl"), str)
        )
    if kind == "diffusers-index":
        for key, value in doc.items():
            if key.startswith("_") or not isinstance(value, list) or len(value) != 2:
                continue
            lib = str(value[0])
            if lib not in _STD_LIBRARIES and not lib.startswith(("diffusers.", "transformers.")):
                modules.append(f"{key}: {lib}.{value[1]}")
        if isinstance(doc.get("_class_name"), list):
            modules.append(f"pipeline: {doc['_class_name']}")
    if modules:
        cross = [m for m in modules if "--" in m]
        extra = f"; {len(cross)} from another repository" if cross else ""
        yield ctx.finding(
            "config.remote-code",
            f"loading needs trust_remote_code and runs {len(modules)} class(es) of repository "
            f"code{extra}, e.g. {modules[0]!r}",
            pointer="/auto_map" if auto_map else None,
            excerpt=", ".join(modules[:10]),
        )
        yield ctx.fact("config.remote_code_modules", sorted(set(modules))[:100])


def _modules_json(ctx: ScanContext, doc: Any) -> Iterator[Result]:
    """sentence-transformers ``modules.json``: module types outside the library are custom code."""
    if classify(doc) != "sentence-transformers-modules":
        return
    custom = [
        str(m["type"])[:200] for m in doc if not str(m["type"]).startswith("sentence_transformers.")
    ]
    if custom:
        yield ctx.finding(
            "config.remote-code",
            f"{len(custom)} sentence-transformers module(s) come from repository code, "
            f"e.g. {custom[0]!r}",
            excerpt=", ".join(custom[:10]),
        )
        yield ctx.fact("config.remote_code_modules", sorted(set(custom))[:100])
