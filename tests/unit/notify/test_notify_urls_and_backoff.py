"""Registration-time URL rules and the retry schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.notify.backoff import MAX_ATTEMPTS, delay_after, total_span
from sevbridge.domain.notify.urls import UrlPolicy, check_url

pytestmark = pytest.mark.unit
DEPLOYED = UrlPolicy()
LOCAL = UrlPolicy(allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hook", "must use https"),
        ("ftp://example.com/hook", "must be an https URL"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https:///hook", "no host"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:10.0.0.1]/hook", "IPv6 form of a private"),
        ("https://[fd00:ec2::254]/", "unique local"),
        ("https://localhost/hook", "loopback"),
        # numeric forms with inet_aton semantics, and internal names (review)
        ("https://127.1/", "points to a loopback address"),
        ("https://0x7f.0.0.1/hook", "loopback"),
        ("https://0177.0.0.1/hook", "loopback"),
        ("https://2130706433/hook", "loopback"),
        ("https://10.1/hook", "a private address"),
        ("https://[::]/hook", "points to an unspecified address"),
        ("https://[::ffff:10.0.0.1]/hook", "points to an IPv6 form of a private address"),
        ("https://metadata.google.internal/", "internal host"),
        ("https://metadata.google.internal./computeMetadata/v1/", "internal host"),
        ("https://db.corp.internal/hook", "internal host"),
        ("https://printer.local/hook", "internal host"),
        ("https://api.localhost/hook", "loopback"),
        ("https://intranet/hook", "fully qualified"),
        ("https://bücher.example/hook", "punycode"),
        ("https://example.com/hook#frag", "fragment"),
        ("https://example.com:0/hook", "port"),
        ("https://example.com:99999/hook", "not a valid URL"),
        ("", "1 to 2048"),
    ],
)
def test_deployed_mode_refuses(url: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_url(url, DEPLOYED, field="settings.webhook_url")
    assert caught.value.details == [{"field": "settings.webhook_url", "problem": caught.value.details[0]["problem"]}]
    assert problem in caught.value.message


def test_refusals_never_echo_the_query_string() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_url("http://example.com/hook?token=s3cr3t-value", DEPLOYED)
    assert "s3cr3t" not in caught.value.message and "s3cr3t" not in str(caught.value.details)


@pytest.mark.parametrize("url", ["https://hooks.example.com/sevbridge?token=abc", "https://93.184.216.34:8443/h"])
def test_public_https_urls_pass(url: str) -> None:
    assert check_url(url, DEPLOYED) == url


def test_the_local_setting_allows_http_on_loopback_only() -> None:
    assert check_url("http://127.0.0.1:8765/webhooks", LOCAL)
    assert check_url("http://localhost:8765/webhooks", LOCAL)
    with pytest.raises(InvalidInput):
        check_url("http://10.0.0.5/hook", LOCAL)
    with pytest.raises(InvalidInput):
        check_url("http://127.0.0.1:8765/webhooks", DEPLOYED)


def test_schedule_has_at_least_8_attempts_over_at_least_24_hours() -> None:
    assert MAX_ATTEMPTS >= 8
    assert total_span() >= timedelta(hours=24)
    assert total_span() < timedelta(hours=25)  # a receiver down for 25 h sees the delivery exhausted
    delays = [delay_after(n) for n in range(1, MAX_ATTEMPTS)]
    assert all(d is not None for d in delays)
    assert delays == sorted(d for d in delays if d is not None)  # it never speeds up
    assert delay_after(MAX_ATTEMPTS) is None


def test_retry_after_pushes_later_never_earlier_and_is_capped() -> None:
    assert delay_after(1, retry_after_seconds=120) == timedelta(seconds=120)
    assert delay_after(3, retry_after_seconds=10) == timedelta(minutes=30)
    assert delay_after(1, retry_after_seconds=10 * 86400) == timedelta(hours=24)
    assert delay_after(MAX_ATTEMPTS, retry_after_seconds=5) is None
