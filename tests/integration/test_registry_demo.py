"""End to end: the demo and real inspections record into a SQLite registry through the CLI, the
``customs registry`` commands read it back, and a real headless Chromium clicks through the
dashboard and takes screenshots.

Browser: Playwright's pip package driving Debian's ``/usr/bin/chromium`` (no browser download);
measured here: launch 1.6–1.7 s, launch + one page + screenshot 2.6–2.9 s (Selenium with
Debian's chromedriver: 1.5–1.6 s and 2.0–2.4 s). Playwright was chosen for its auto-waiting
locators and full-page screenshots, with no driver whose version must match the browser.
Screenshots go to the test's temporary folder, and also to ``$CUSTOMS_SHOTS_DIR`` when set.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcustoms.cli import main
from modelcustoms.passport import load_public_key
from modelcustoms.registry.auth import Role
from modelcustoms.registry.store import RegistryStore
from tests.unit.engines.provenance.helpers import FALCON3_10B, QWEN25_7B
from tests.unit.registry.live import LiveRegistry

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CORPUS = Path(__file__).parents[1] / "data" / "discover" / "corpus"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _model(folder: Path, config: dict, card: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    if card is not None:
        (folder / "README.md").write_text(card)
    return folder


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[dict]:
    """An empty SQLite registry served on 127.0.0.1 that trusts a fresh passport key."""
    root = tmp_path
    db = f"sqlite:///{root / 'registry.db'}"
    code = main(["passport", "keygen", "--out", str(root / "keys")])
    assert code == 0
    store = RegistryStore(
        db, trusted_keys=[load_public_key((root / "keys/passport.pub").read_bytes())]
    )
    token = store.create_token("demo-approver", Role.APPROVER)
    server = LiveRegistry(store).start()
    old_env = {k: os.environ.get(k) for k in ("CUSTOMS_REGISTRY", "CUSTOMS_REGISTRY_TOKEN")}
    os.environ["CUSTOMS_REGISTRY_TOKEN"] = token
    os.environ.pop("CUSTOMS_REGISTRY", None)
    try:
        yield {"root": root, "db": db, "url": server.url, "token": token, "store": store}
    finally:
        server.stop()
        store.close()
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_demo_records_and_the_dashboard_shows_it(
    registry: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill_and_read_back(registry, capsys)
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: the dashboard was not clicked through")
    _click_through(registry)


def _fill_and_read_back(registry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root, url = registry["root"], registry["url"]
    demo = root / "demo"
    code, _, err = _cli(
        capsys, "demo", "--keep", str(demo), "-f", "json", "-o", str(root / "d.json")
    )
    assert code == 0, err
    code, out, err = _cli(
        capsys, "registry", "record", str(demo / "reports/report.json"), "--registry", url
    )
    assert code == 0, err
    assert "recorded: report" in out and "path:zoo" in out
    # A model whose second revision changes base, origin and verdict.
    chat = root / "v1" / "acme-chat"
    _model(chat, FALCON3_10B)
    code, _, err = _cli(
        capsys,
        "inspect",
        str(chat),
        "--policy",
        "enterprise-default",
        "--registry",
        url,
        "-f",
        "json",
        "-o",
        str(root / "chat1.json"),
    )
    assert code == 0, err
    assert "registry: recorded report" in err
    chat2 = _model(
        root / "v2" / "acme-chat",
        QWEN25_7B,
        "---\nbase_model: Qwen/Qwen2.5-7B-Instruct\nlicense: apache-2.0\n---\n# acme chat\n",
    )
    code, _, err = _cli(
        capsys,
        "inspect",
        str(chat2),
        "--policy",
        "enterprise-default",
        "--registry",
        url,
        "-f",
        "json",
        "-o",
        str(root / "chat2.json"),
    )
    assert code == 1, err  # deny: a model whose base comes from a country of concern
    # A passported model: sign its report, record both.
    falcon = _model(root / "models" / "falcon-ft", FALCON3_10B)
    report = root / "falcon.json"
    assert (
        main(
            [
                "inspect",
                str(falcon),
                "--policy",
                "enterprise-default",
                "-f",
                "json",
                "-o",
                str(report),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "passport",
                "sign",
                str(report),
                "--key",
                str(root / "keys/passport.key"),
                "-o",
                str(root / "falcon.passport.json"),
            ]
        )
        == 0
    )
    code, out, err = _cli(
        capsys,
        "registry",
        "record",
        str(report),
        "--passport",
        str(root / "falcon.passport.json"),
        "--registry",
        url,
    )
    assert code == 0 and "with its passport" in out, err
    # A repository scanned by discover.
    code, _, err = _cli(
        capsys,
        "discover",
        str(CORPUS / "fastapi_deepseek"),
        "--registry",
        url,
        "-f",
        "json",
        "-o",
        str(root / "repo.json"),
        "--fail-on",
        "never",
    )
    assert code == 0, err
    # Read back through the CLI.
    code, out, _ = _cli(capsys, "registry", "list", "--registry", url)
    assert code == 0
    assert "path:acme-chat" in out and "path:zoo" in out and "CN" in out and "AE" in out
    code, out, _ = _cli(capsys, "registry", "list", "--registry", url, "--country", "AE")
    assert "path:falcon-ft" in out and "path:acme-chat" not in out
    code, out, _ = _cli(capsys, "registry", "show", "path:acme-chat", "--registry", url)
    assert "lineage: acme-chat → qwen2.5" in out and "origin CN" in out
    code, out, _ = _cli(capsys, "registry", "diff", "path:acme-chat", "--registry", url)
    assert "verdict: allow → deny" in out and "family: falcon3 → qwen2.5" in out
    assert "country: AE → CN" in out
    code, _, err = _cli(
        capsys, "registry", "approve", "path:acme-chat", "--reason", "x", "--registry", url
    )
    assert code == 2 and "waive" in err
    code, out, _ = _cli(
        capsys,
        "registry",
        "waive",
        "path:acme-chat",
        "--rule",
        "origin.country-of-concern",
        "--reason",
        "air-gapped evaluation only",
        "--registry",
        url,
    )
    assert code == 0 and "waive of report" in out
    code, out, _ = _cli(
        capsys, "registry", "approve", "path:falcon-ft", "--reason", "reviewed", "--registry", url
    )
    assert code == 0
    # The gateway's questions, answered from the recorded passport.
    sha = json.loads(report.read_text())["artifacts"][0]["sha256"]
    match = registry["store"].passport_for_digest(sha)
    assert match is not None and match.country == "AE" and match.approval == "approved"
    code, _, err = _cli(
        capsys, "registry", "bind", "acme-vllm", "falcon", "path:falcon-ft", "--registry", url
    )
    assert code == 0, err
    hosted = registry["store"].passport_for_hosted("acme-vllm", "falcon")
    assert hosted is not None and hosted.report_digest == match.report_digest


def _click_through(registry: dict) -> None:
    from playwright import sync_api

    tmp_path = registry["root"]
    shots = tmp_path / "shots"
    shots.mkdir()
    url = registry["url"]
    env = {"HOME": str(tmp_path)}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            env={**os.environ, **env},
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        page.goto(url + "/")
        assert page.url.endswith("/login")
        page.fill("#token", "wrong")
        page.click("#sign-in")
        assert "unknown or revoked" in page.inner_text("#error")
        page.fill("#token", registry["token"])
        page.click("#sign-in")
        page.wait_for_selector("#inventory")
        assert page.locator("#chart svg rect.bar").count() >= 3
        assert page.locator('#chart rect.bar[data-country="CN"][data-verdict="deny"]').count() == 1
        shot("01-inventory")
        page.select_option("#filter-country", "CN")
        page.click("#apply")
        page.wait_for_url("**country=CN**")
        keys = page.locator("#inventory tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.key)"
        )
        assert keys == ["path:acme-chat"]
        shot("02-inventory-filtered-CN")
        page.click("text=path:acme-chat")
        page.wait_for_selector("#lineage svg.lineage")
        assert page.locator('#lineage g.node[data-name="qwen2.5"]').count() == 1
        assert "waived" in page.inner_text("h1")
        shot("03-model-lineage")
        page.click("a.diff-link")
        page.wait_for_selector("#changes")
        text = page.inner_text("#changes")
        assert "verdict" in text and "deny" in text and "qwen2.5" in text
        shot("04-diff")
        page.click("h1 a >> nth=1")
        page.wait_for_selector("#findings")
        shot("05-report")
        page.click("text=Repositories")
        page.click("#repositories a >> nth=0")
        page.wait_for_selector("#references")
        assert "deepseek" in page.inner_text("#references").lower()
        shot("06-repository")
        page.click("text=Audit log")
        assert "air-gapped evaluation only" in page.inner_text("#events")
        shot("07-audit-log")
        page.goto(url + "/")
        page.click("text=path:falcon-ft")
        page.click("#reports a >> nth=0")
        assert "signed by key" in page.inner_text("#passport")
        shot("08-report-with-passport")
        browser.close()
    pngs = sorted(shots.glob("*.png"))
    assert len(pngs) == 8
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, png.name
    extra = os.environ.get("CUSTOMS_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        for png in pngs:
            shutil.copy(png, Path(extra) / png.name)
    print(f"screenshots: {shots}", file=sys.stderr)
