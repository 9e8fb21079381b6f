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
    now = [0.0]
    vault = KmsTokenVault(aws.environment()["TOKEN_KEY_ID"], cache_seconds=60, clock=lambda: now[0])
    sealed = vault.seal(TOKEN, platform_id="plt_a", tenant_id="t1")
    vault.open(sealed, platform_id="plt_a", tenant_id="t1")

    import boto3

    kms = boto3.client("kms")
    kms.disable_key(KeyId=kms.describe_key(KeyId=aws.environment()["TOKEN_KEY_ID"])["KeyMetadata"]["KeyId"])
    assert vault.open(sealed, platform_id="plt_a", tenant_id="t1") == TOKEN  # from memory
    now[0] = 61.0
    with pytest.raises(TokenUnreadable):
        vault.open(sealed, platform_id="plt_a", tenant_id="t1")  # expired: asks KMS, which refuses
