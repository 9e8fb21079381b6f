"""C1: tokens are KMS ciphertext bound to (platform, tenant) by the encryption context."""

from __future__ import annotations

from typing import Any

import pytest

from sevbridge.adapters.kms_vault import KmsTokenVault, TokenUnreadable

pytestmark = pytest.mark.functional
TOKEN = "8a3f0c9e2b7d4e1f9a6c3b0d5e8f1a2b"


def test_roundtrip_and_ciphertext_is_not_the_token(aws: Any) -> None:
    vault = KmsTokenVault(aws.environment()["TOKEN_KEY_ID"])
    sealed = vault.seal(TOKEN, platform_id="plt_a", tenant_id="t1")
    assert TOKEN.encode() not in sealed
    assert vault.open(sealed, platform_id="plt_a", tenant_id="t1") == TOKEN


@pytest.mark.parametrize(("platform", "tenant"), [("plt_a", "t2"), ("plt_b", "t1")])
def test_other_tenant_or_platform_context_cannot_decrypt(aws: Any, platform: str, tenant: str) -> None:
    vault = KmsTokenVault(aws.environment()["TOKEN_KEY_ID"])
    sealed = vault.seal(TOKEN, platform_id="plt_a", tenant_id="t1")

    with pytest.raises(TokenUnreadable) as caught:
        KmsTokenVault(aws.environment()["TOKEN_KEY_ID"]).open(sealed, platform_id=platform, tenant_id=tenant)
    assert TOKEN not in str(caught.value)


def test_decrypted_tokens_are_cached_briefly(aws: Any) -> None:
    from sevbridge.adapters import aws_clients

    decrypt_calls: list[str] = []
    aws_clients.kms().meta.events.register("before-call.kms.Decrypt", lambda **_: decrypt_calls.append("x"))
    now = [0.0]
    vault = KmsTokenVault(aws.environment()["TOKEN_KEY_ID"], cache_seconds=60, clock=lambda: now[0])
    sealed = vault.seal(TOKEN, platform_id="plt_a", tenant_id="t1")

    for _ in range(5):
        assert vault.open(sealed, platform_id="plt_a", tenant_id="t1") == TOKEN
    assert len(decrypt_calls) == 1  # a batch of transfers costs one KMS call
    now[0] = 61.0
    assert vault.open(sealed, platform_id="plt_a", tenant_id="t1") == TOKEN
    assert len(decrypt_calls) == 2  # expired: asked KMS again
