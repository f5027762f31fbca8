"""Knowledge as data: publishers, model families, licences, tokenizer fingerprints, providers.

The rows live in ``kb/data/*.json``; every row carries the public source it was taken from.
Adding a family or a publisher is a data change only.
"""

from modelcustoms.kb.load import KBError, KnowledgeBase, default_kb, load_kb
from modelcustoms.kb.schema import (
    Architecture,
    Family,
    License,
    PreTokenizer,
    Provider,
    Publisher,
    Release,
    RuntimeSupport,
    WatchListing,
)

__all__ = [
    "Architecture",
    "Family",
    "KBError",
    "KnowledgeBase",
    "License",
    "PreTokenizer",
    "Provider",
    "Publisher",
    "Release",
    "RuntimeSupport",
    "WatchListing",
    "default_kb",
    "load_kb",
]
