"""Signing secrets sealed with KMS under an encryption context: another endpoint's (or platform's)
context cannot open them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from sevbridge.adapters.kms_secrets import KmsSecretSealer
from sevbridge.domain.notify.endpoints import new_signing_secret
from sevbridge.domain.notify.ports import SecretUnreadable

pytestmark = pytest.mark.functional


def test_a_sealed_secret_opens_only_for_its_platform_and_endpoint(aws: Any) -> None:
    sealer = KmsSecretSealer(aws.environment()["TOKEN_KEY_ID"])
    secret = new_signing_secret()
    sealed = sealer.seal(secret, platform_id="plt_a", endpoint_id="ep_1")
    assert secret.encode() not in sealed
    assert sealer.open(sealed, platform_id="plt_a", endpoint_id="ep_1") == secret
    for platform_id, endpoint_id in (("plt_a", "ep_2"), ("plt_b", "ep_1")):
        with pytest.raises(SecretUnreadable) as caught:
            KmsSecretSealer(aws.environment()["TOKEN_KEY_ID"]).open(
                sealed, platform_id=platform_id, endpoint_id=endpoint_id
            )
        assert secret not in str(caught.value)
    assert boto3.client("kms").list_keys()["Keys"]
