"""Configuration: every mistake reported at once, with its location."""

from __future__ import annotations

import pytest

from modelcustoms.gateway.config import parse_config
from modelcustoms.gateway.errors import GatewayError

SHA = "a" * 64
BASE = f"""
passports: {{folder: p, public_keys: [k.pub]}}
upstreams:
  - {{id: u, url: "http://127.0.0.1:9", model: m, weights_sha256: "{SHA}"}}
models: [{{name: chat, routes: [u]}}]
audit: {{path: a.jsonl}}
"""


def test_a_valid_file_with_relative_paths(tmp_path):
    cfg = parse_config(BASE, base=tmp_path)
    assert cfg.passports.folder == tmp_path / "p"
    assert cfg.audit.path == tmp_path / "a.jsonl"
    assert cfg.upstreams[0].detectors() == ()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("routes: [u]", "routes: [v]"), "route 'v' is not an upstream id"),
        (("audit: {path: a.jsonl}", "audit: {}"), "the audit log is not optional"),
        ((f'weights_sha256: "{SHA}"', "weights_sha256: nope"), "64 lowercase hex"),
        ((f'weights_sha256: "{SHA}"', "model2: x"), "Extra inputs are not permitted"),
        (('url: "http://127.0.0.1:9"', 'url: "ftp://x/v1"'), "write http://HOST:PORT"),
        (("models:", "rules: [{id: r, data_classes: [pii]}]\nmodels:"), "deny at least one"),
        (("public_keys: [k.pub]", "public_keys: []"), "public_keys"),
    ],
)
def test_mistakes_are_named(edit, message):
    with pytest.raises(GatewayError, match="invalid gateway configuration") as info:
        parse_config(BASE.replace(*edit))
    assert message in info.value.message


def test_not_yaml_or_not_a_mapping():
    with pytest.raises(GatewayError, match="not valid YAML"):
        parse_config("a: [")
    with pytest.raises(GatewayError, match="is a mapping"):
        parse_config("- a")
