"""Hub dates and ``/api/models`` listings as hostile input: parsed strictly, never fatal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modelcustoms.sources.base import RemoteProtocolError
from modelcustoms.sources.hfrepo import hub_time, parse_model_list, parse_repo_info


def test_hub_time_accepts_the_hubs_format_only() -> None:
    assert hub_time("2024-04-17T23:33:47.000Z") == datetime(2024, 4, 17, 23, 33, 47, tzinfo=UTC)
    assert hub_time("2024-04-18T01:33:47+02:00") == datetime(2024, 4, 17, 23, 33, 47, tzinfo=UTC)
    assert hub_time("2024-04-17T23:33:47") == datetime(2024, 4, 17, 23, 33, 47, tzinfo=UTC)
    for bad in (None, 1713396827, "yesterday", "", "2024-13-01T00:00:00Z", "9" * 500):
        assert hub_time(bad) is None


def test_repo_info_carries_dates_and_a_digest() -> None:
    raw = {"sha": "a" * 40, "createdAt": "2024-01-01T00:00:00Z", "lastModified": ["x"]}
    info = parse_repo_info(raw, "org/m", "main")
    assert info.created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert info.last_modified is None
    assert len(info.digest) == 64
    assert parse_repo_info(dict(raw), "org/m", "main").digest == info.digest


def test_model_list_keeps_valid_distinct_ids() -> None:
    raw = [
        {"id": "a/x", "tags": []},
        {"id": "a/x"},
        {"id": "../etc/passwd"},
        {"id": 7},
        "junk",
        {"id": "b/y", "downloads": 3},
    ]
    assert parse_model_list(raw, "listing") == ("a/x", "b/y")
    with pytest.raises(RemoteProtocolError, match="not a list"):
        parse_model_list({"error": "x"}, "listing")
