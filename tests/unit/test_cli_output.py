"""What the operator CLI prints: secrets masked in decoded messages, URLs shown by origin, times parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import typer

from sevbridge_cli.common import parse_time, url_origin
from sevbridge_cli.dlq import MAX_TEXT, decode, scrub

pytestmark = pytest.mark.unit
TOKEN = "0123456789abcdef0123456789abcdef"


def test_scrub_masks_secret_shapes_and_secret_names_at_any_depth() -> None:
    value = {
        "transfer_id": "tr_01a2",
        "nested": [{"note": f"used {TOKEN}", "sevdesk_token": "short"}],
        "Authorization": "Bearer x",
        "webhook": "whsec_" + "A" * 40,
        "count": 3,
    }
    assert scrub(value) == {
        "transfer_id": "tr_01a2",
        "nested": [{"note": "used [REDACTED]", "sevdesk_token": "[REDACTED]"}],
        "Authorization": "[REDACTED]",
        "webhook": "[REDACTED]",
        "count": 3,
    }
    assert len(scrub("x" * (MAX_TEXT + 50))) == MAX_TEXT + 1


def test_decode_reads_bodies_that_are_not_json_too() -> None:
    message = {
        "MessageId": "m-1",
        "Body": f"not json {TOKEN}",
        "Attributes": {"SentTimestamp": "1796176130786", "ApproximateReceiveCount": "5", "MessageGroupId": "T#p#t"},
    }
    decoded = decode(message)
    assert decoded["body"] == "not json [REDACTED]"
    assert decoded["receive_count"] == 5 and decoded["group"] == "T#p#t"
    assert decoded["sent_at"] == datetime.fromtimestamp(1796176130.786, tz=UTC)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/in/abc?token=secret", "https://hooks.example.com/…"),
        ("https://user:pw@hooks.example.com/x", "https://hooks.example.com/…"),
        ("https://hooks.example.com", "https://hooks.example.com"),
        (None, None),
    ],
)
def test_url_origin_hides_path_query_and_credentials(url: str | None, shown: str | None) -> None:
    assert url_origin(url) == shown


def test_parse_time_takes_dates_and_offsets_and_refuses_the_rest() -> None:
    assert parse_time("2026-01-31", "--since") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_time("2026-01-31T08:00+01:00", "--since") == datetime(
        2026, 1, 31, 8, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_time(None, "--since") is None
    with pytest.raises(typer.Exit) as refused:
        parse_time("yesterday", "--since")
    assert refused.value.exit_code == 2
