"""``customs fingerprint``: weight-level lineage against a library of reference fingerprints."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcustoms.cli.output import write_output
from modelcustoms.cli.scan import add_output_options, emit
from modelcustoms.errors import InputError, UsageError

if TYPE_CHECKING:
    from modelcustoms.core import Report
    from modelcustoms.engines.fingerprint import Subject

HELP = "test whether a model's weights derive from a reference (or build a reference)"
DESCRIPTION = (
    HELP
    + """

  customs fingerprint MODEL [--against LIB.json...]  test MODEL against every reference
  customs fingerprint build MODEL --out LIB.json     add MODEL's fingerprint to LIB.json

MODEL is a GGUF (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) or
safetensors (F32, F16, BF16) file, a folder holding them, or a Hugging Face repo
(hf:org/name[@revision], read by HTTP range). Without --against, the references are the
library shipped with the tool. Only the header, the token embedding rows of 128 probe tokens
and the query/key projections of three layers are read (about 2% of a 0.5B model). The score
is the correlation of Gram matrices that hidden-unit permutations, rotations, scaling,
vocabulary extension, fine-tuning and quantization leave (nearly) unchanged; the p-value is
the larger of two nulls' (random models of the reference's shapes, and independently trained
models of one language). Needs numpy (modelcustoms[fingerprint]).
For safetensors, --tokenizer (or a tokenizer.json beside the file) aligns tokens by string.
The same test runs inside `customs provenance` and `customs inspect` against the shipped
library."""
)

MAX_TOKENIZER_BYTES = 64 * 1024**2


def register(sub: Any) -> None:
    """Add the fingerprint subcommand."""
    p = sub.add_parser("fingerprint", help=HELP, description=DESCRIPTION)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("words", nargs="+", metavar="MODEL", help="MODEL, or: build MODEL")
    p.add_argument(
        "--against",
        nargs="+",
        type=Path,
        metavar="LIB",
        help="reference libraries (default: the library shipped with the tool)",
    )
    p.add_argument("--out", type=Path, metavar="LIB", help="library to create or extend (build)")
    p.add_argument("--name", help="reference name for build (default: the file name)")
    p.add_argument("--tokenizer", type=Path, help="tokenizer.json giving token strings by id")
    p.add_argument(
        "--download",
        action="store_true",
        help="let remote files be read whole (default: headers and selected rows by range)",
    )
    add_output_options(p)
    p.set_defaults(handler=run_fingerprint)


def run_fingerprint(args: argparse.Namespace) -> int:
    """customs fingerprint."""
    from modelcustoms.engines.fingerprint import FingerprintUnavailable, require_numpy

    try:
        require_numpy()  # the engine's one optional dependency, checked up front
    except FingerprintUnavailable as exc:
        msg = "customs fingerprint needs numpy, which the core install leaves out"
        raise UsageError(msg, hint="pip install 'modelcustoms[fingerprint]'") from exc
    words: list[str] = args.words
    if words[0] == "build":
        if len(words) != 2 or args.out is None:
            msg = "usage: customs fingerprint build MODEL --out LIB.json [--name NAME]"
            raise UsageError(msg)
        return _build(Path(words[1]), args)
    if len(words) != 1:
        msg = "usage: customs fingerprint MODEL [--against LIB.json...]"
        raise UsageError(msg)
    return emit(fingerprint_report(words[0], args), args)


def fingerprint_report(ref: str, args: argparse.Namespace) -> Report:
    """Test MODEL (local file or folder, hf:org/name, ollama:tag) against the libraries."""
    from modelcustoms.pipeline import fingerprint
    from modelcustoms.sources.resolve import SourceOptions

    vocab = _vocab(args.tokenizer, None) if args.tokenizer is not None else None
    options = SourceOptions(full_download=args.download)
    return fingerprint(ref, args.against or (), options, vocab=vocab)


def _vocab(tokenizer: Path | None, model: Path | None) -> list[str] | None:
    """Token strings from ``tokenizer``, else from a tokenizer.json beside ``model``."""
    from modelcustoms.engines.fingerprint.extract import vocab_from_tokenizer_json

    path = tokenizer or (model.parent if model else Path()) / "tokenizer.json"
    if not path.is_file():
        if tokenizer is not None:
            raise InputError(f"no such file: {tokenizer}")
        return None
    if path.stat().st_size > MAX_TOKENIZER_BYTES:
        raise InputError(f"{path} is larger than {MAX_TOKENIZER_BYTES} bytes")
    return vocab_from_tokenizer_json(path.read_bytes())


def _subject(model: Path) -> Subject:
    from modelcustoms.artifacts.blob import FileBlob
    from modelcustoms.engines.fingerprint import Subject

    if not model.is_file():
        raise InputError(f"no such file: {model}")
    blob = FileBlob(model)
    # Evidence names the digest of the exact bytes read (one sequential pass, ~1 GB/s).
    return Subject(blob, model.name, blob.sha256())


def _build(model: Path, args: argparse.Namespace) -> int:
    from modelcustoms.engines.fingerprint import FingerprintEngine
    from modelcustoms.engines.fingerprint.extract import ExtractError
    from modelcustoms.engines.fingerprint.library import Library, LibraryError

    try:
        lib = Library.load(args.out) if args.out.exists() else Library()
    except LibraryError as exc:
        raise InputError(str(exc)) from exc
    subject = _subject(model)
    with subject.blob:
        try:
            entry = FingerprintEngine().build(
                subject, args.name or model.name, vocab=_vocab(args.tokenizer, model)
            )
        except ExtractError as exc:
            raise InputError(f"{model}: cannot fingerprint: {exc}") from exc
        size = subject.blob.size
    lib.add(entry)
    data = json.dumps(lib.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n"
    write_output(data.encode("utf-8"), args.out)
    print(
        f"customs: added {entry.name!r} to {args.out} ({len(lib.entries)} references; "
        f"read {entry.bytes_read} of {size} bytes)",
        file=sys.stderr,
    )
    return 0
