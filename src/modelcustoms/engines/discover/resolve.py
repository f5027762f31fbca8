"""Publisher, country, host and lineage of a hit, from the knowledge base only."""

from __future__ import annotations

from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kbview import FamilyRow, ProviderRow
from modelcustoms.engines.discover.kinds import ReferenceKind
from modelcustoms.engines.discover.refs import Ref
from modelcustoms.engines.discover.vocab import Vocabulary

_HUB_PREFIXES = ("https://huggingface.co/", "https://hf.co/", "hf.co/", "huggingface.co/")


def host_of(endpoint: str) -> str:
    """The hostname of a URL (or of a bare ``host/path``), lowercased; "" when there is none.

    Written out instead of ``urllib.parse.urlsplit``: that import (with ``ipaddress``) costs
    more than a scan of a small repository, and only the host is needed.
    """
    rest = endpoint.strip()
    scheme, sep, after = rest.partition("://")
    if sep and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        rest = after
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    rest = rest.rpartition("@")[2]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0].lower()
    return rest.split(":", 1)[0].lower()


def _local(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local")  # noqa: S104


def resolve(vocab: Vocabulary, hit: Hit, file: str) -> Ref:
    """Turn a raw hit into a reference with publisher, host and lineage (or why not)."""
    provider = hit.provider
    if hit.endpoint:
        by_host = vocab.provider_of_host(host_of(hit.endpoint))
        provider = by_host or (provider if provider and provider.kind == "api" else None)
    model = hit.model
    name = model or ""
    for prefix in _HUB_PREFIXES:
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    # NOTE: a router prefix names the host ("openrouter/..."), the rest names the model.
    head, sep, tail = name.partition("/")
    if sep and head.lower() in vocab.prefixes and vocab.publisher_of_namespace(head) is None:
        provider = vocab.prefixes[head.lower()]
        name = tail
    publisher_id, publisher_country, lineage, why = _publisher(vocab, name, provider, hit)
    host_operator = host_country = None
    by_endpoint = hit.endpoint is not None and provider is not None
    if provider is not None and (provider.kind == "api" or by_endpoint):
        host_operator, host_country = provider.operator, provider.country
    elif hit.endpoint and publisher_id is None and not _local(host_of(hit.endpoint)):
        why = "host not in the knowledge base"
    return Ref(
        kind=hit.kind,
        model=model,
        endpoint=hit.endpoint,
        file=file,
        line=hit.line if hit.line >= 1 else None,
        cell=hit.cell,
        publisher=publisher_id,
        publisher_country=publisher_country,
        host_operator=host_operator,
        host_country=host_country,
        lineage=lineage,
        confidence=hit.confidence,
        via=hit.via,
        unresolved=why,
    )


def _publisher(
    vocab: Vocabulary, name: str, provider: ProviderRow | None, hit: Hit
) -> tuple[str | None, str | None, tuple[str, ...], str | None]:
    kb = vocab.kb
    family = vocab.family_of(name.rsplit("/", 1)[-1]) if name else None
    lineage = _lineage(vocab, family, name) if family else ()
    if name:
        head, sep, _ = name.partition("/")
        pub = vocab.publisher_of_namespace(head) if sep else None
        if pub is not None:
            return pub.id, pub.ultimate_parent_country, lineage, None
        if family is not None:
            fam_pub = kb.publisher(family.publisher)
            if fam_pub is not None:
                return fam_pub.id, fam_pub.ultimate_parent_country, lineage, None
        own = vocab.provider_of_model(name)
        if own is not None:
            return _provider_publisher(vocab, own, lineage)
    if (
        provider is not None
        and provider.kind == "api"
        and (not name or hit.kind is ReferenceKind.SDK_CLASS)
        and (provider.publisher or provider.model_patterns)
    ):
        return _provider_publisher(vocab, provider, lineage)
    if not name:
        return None, None, (), "no model named here (the endpoint serves several publishers)"
    return None, None, lineage, "model name matches no publisher or family in the knowledge base"


def _provider_publisher(
    vocab: Vocabulary, provider: ProviderRow, lineage: tuple[str, ...]
) -> tuple[str | None, str | None, tuple[str, ...], str | None]:
    if provider.publisher:
        pub = vocab.kb.publisher(provider.publisher)
        if pub is not None:
            return pub.id, pub.ultimate_parent_country, lineage, None
    # A provider's own models whose publisher has no knowledge-base row (e.g. a closed model).
    return provider.operator, provider.country, lineage, None


def _lineage(vocab: Vocabulary, family: FamilyRow, name: str) -> tuple[str, ...]:
    kb = vocab.kb
    low = name.lower()
    base_id = family.base_family
    for rel in family.releases:
        if rel.repo and (low == rel.repo.lower() or low.endswith("/" + rel.repo.lower())):
            base_id = rel.base_family or base_id
            break
        if rel.repo and low == rel.repo.lower().rsplit("/", 1)[-1]:
            base_id = rel.base_family or base_id
            break
    chain = [family]
    cur = kb.family(base_id) if base_id else None
    while cur is not None and len(chain) < 8 and cur not in chain:
        chain.append(cur)
        cur = kb.family(cur.base_family) if cur.base_family else None

    def label(f: FamilyRow) -> str:
        pub = kb.publisher(f.publisher)
        return f"{f.id} ({f.publisher}, {pub.ultimate_parent_country if pub else '?'})"

    return tuple(label(f) for f in chain)
