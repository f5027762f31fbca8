"""Passport sources: a folder of envelopes and reports, and the registry (SQLite)."""

from __future__ import annotations

import json

import pytest

from modelcustoms.core import Decision
from modelcustoms.gateway.config import parse_config
from modelcustoms.gateway.passports import FolderPassportSource
from modelcustoms.gateway.rules import judge_route, parse_classes
from modelcustoms.gateway.runtime import build_runtime
from modelcustoms.kb import default_kb
from modelcustoms.passport import load_public_key
from tests.unit.gateway.helpers import keypair, passport_for


def source(tmp_path, pub):
    return FolderPassportSource(tmp_path / "p", [load_public_key(pub.read_bytes())])


def test_folder_source_reads_origin_and_refuses_what_does_not_verify(tmp_path):
    key, pub = keypair(tmp_path / "k")
    other, _ = keypair(tmp_path / "other")
    cn = passport_for(tmp_path / "p", key, "cn", origin="CN")
    bare = passport_for(tmp_path / "p", key, "bare", with_report=False)
    denied = passport_for(tmp_path / "p", key, "denied", decision=Decision.DENY)
    forged = passport_for(tmp_path / "p", other, "forged")
    tampered = passport_for(tmp_path / "p", key, "tampered")
    env = json.loads((tmp_path / "p" / "tampered.passport.json").read_text())
    env["payload"] = env["payload"][:-8] + "AAAAAAA="
    (tmp_path / "p" / "tampered.passport.json").write_text(json.dumps(env))
    src = source(tmp_path, pub)
    a = src.by_weights(cn)
    assert a is not None and a.origin_countries == {"CN"} and a.origin_known
    assert a.publisher == "pub-cn" and a.decision == "allow"
    b = src.by_weights(bare)
    assert b is not None and not b.origin_known  # no report: origin unknown
    for sha in (denied, forged, tampered):
        assert src.by_weights(sha) is None
    problems = " ".join(src.problems())
    assert "verdict is deny" in problems and "wrong key" in problems
    assert src.by_hosted("m", "openai-api") is None


def test_rules_judge_origin_and_operator(tmp_path):
    key, _pub = keypair(tmp_path / "k")
    shas = {
        n: passport_for(tmp_path / "p", key, n, origin=o) for n, o in (("cn", "CN"), ("us", "US"))
    }
    shas["bare"] = passport_for(tmp_path / "p", key, "bare", with_report=False)
    cfg = parse_config(
        f"""
passports: {{folder: p, public_keys: [k/passport.pub]}}
upstreams:
  - {{id: cn, url: "http://127.0.0.1:9", model: m, weights_sha256: "{shas["cn"]}",
     operator_country: DE}}
  - {{id: us, url: "http://127.0.0.1:9", model: m, weights_sha256: "{shas["us"]}"}}
  - {{id: bare, url: "http://127.0.0.1:9", model: m, weights_sha256: "{shas["bare"]}",
     operator_country: DE}}
  - {{id: ds, url: "http://127.0.0.1:9", model: deepseek-chat,
     hosted: {{model: deepseek-chat, operator: deepseek-api}}}}
models: [{{name: chat, routes: [cn, us, bare, ds]}}]
rules: [{{id: r, data_classes: [pii], deny_operator_countries: [CN],
         deny_origin_countries: [CN]}}]
audit: {{path: a.jsonl}}
""",
        base=tmp_path,
    )
    from modelcustoms.gateway.server import passport_source

    rt = build_runtime(cfg, passport_source(cfg), default_kb(), {})
    routes = rt.routes
    assert routes["ds"].operator_country == "CN"  # from the knowledge base's providers
    assert routes["ds"].approval is None and "no valid passport" in (routes["ds"].refusal or "")
    pii = parse_classes(b"PII, source-code")
    assert pii == {"pii", "source-code"}

    def judge(rid):
        r = routes[rid]
        assert r.approval is not None
        return judge_route(rt.rules, pii, r.approval, r.operator_country)

    assert "model origin CN" in judge("cn").reason
    assert "operator's country is unknown" in judge("us").reason
    assert "origin is unknown" in judge("bare").reason
    assert judge_route(rt.rules, frozenset(), routes["cn"].approval, "DE") is None


def test_registry_source_by_weights_and_hosted(tmp_path):
    pytest.importorskip("sqlalchemy")
    from modelcustoms.core.load import load_report
    from modelcustoms.gateway.registry_source import RegistrySource
    from modelcustoms.registry.store import RegistryStore

    key, pub = keypair(tmp_path / "k")
    sha = passport_for(tmp_path / "p", key, "qwen", origin="CN")
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    pk = load_public_key(pub.read_bytes())
    with RegistryStore(url, trusted_keys=[pk]) as store:
        doc = load_report((tmp_path / "p" / "qwen.report.json").read_bytes())
        env = json.loads((tmp_path / "p" / "qwen.passport.json").read_text())
        rec = store.record(doc, env, actor="test")
        store.bind_hosted("together-api", "qwen-chat", rec.key, actor="test")
    src = RegistrySource.from_config(url, [pub])
    a = src.by_weights(sha)
    assert a is not None and a.origin_countries == {"CN"} and a.subject == f"sha256:{sha}"
    h = src.by_hosted("qwen-chat", "together-api")
    assert h is not None and h.subject == "hosted:together-api/qwen-chat"
    assert src.by_weights("0" * 64) is None and src.by_hosted("x", "together-api") is None
    src.close()


def test_routes_are_sorted_cheapest_first_above_the_quality_floor(tmp_path):
    key, _pub = keypair(tmp_path / "k")
    sha = passport_for(tmp_path / "p", key, "m")
    ups = "\n".join(
        f'  - {{id: {name}, url: "http://127.0.0.1:9", model: m, weights_sha256: "{sha}",'
        f" quality: {q}, price: {{input_per_mtok: {p}, output_per_mtok: {p}}}}}"
        for name, q, p in (
            ("dear", 0.9, 5),
            ("weak", 0.2, 0.01),
            ("cheap", 0.7, 1),
            ("tie", 0.7, 1),
        )
    )
    cfg = parse_config(
        f"passports: {{folder: p, public_keys: [k/passport.pub]}}\nupstreams:\n{ups}\n"
        "models: [{name: chat, routes: [dear, weak, cheap, tie], quality_floor: 0.5}]\n"
        "audit: {path: a.jsonl}\n",
        base=tmp_path,
    )
    from modelcustoms.gateway.server import passport_source

    served = build_runtime(cfg, passport_source(cfg), default_kb(), {}).models["chat"]
    assert [r.id for r in served.routes] == ["cheap", "tie", "dear"]
    assert served.below_floor == ("weak",)
