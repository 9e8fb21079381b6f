"""Webhook signing secrets encrypted with KMS (the token key). The encryption context binds each
ciphertext to its platform and endpoint, so a ciphertext copied to another endpoint cannot be opened.
Opened secrets are cached briefly in memory: a batch of deliveries costs one KMS call per endpoint."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.adapters.kms_vault import PERMANENT_KMS_ERRORS
from sevbridge.domain.errors import TemporarilyUnavailable
from sevbridge.domain.notify.ports import SecretUnreadable

PURPOSE = "webhook-signing-secret"


def encryption_context(platform_id: str, endpoint_id: str) -> dict[str, str]:
    return {"platform": platform_id, "endpoint": endpoint_id, "purpose": PURPOSE}


class KmsSecretSealer:
    def __init__(self, key_id: str, *, cache_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self._key_id = key_id
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def seal(self, secret: str, *, platform_id: str, endpoint_id: str) -> bytes:
        try:
            response = aws_clients.kms().encrypt(
                KeyId=self._key_id,
                Plaintext=secret.encode(),
                EncryptionContext=encryption_context(platform_id, endpoint_id),
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable(f"KMS could not seal the signing secret ({type(exc).__name__})") from None
        return response["CiphertextBlob"]

    def open(self, ciphertext: bytes, *, platform_id: str, endpoint_id: str) -> str:
        cache_key = hashlib.sha256(ciphertext + f"|{platform_id}|{endpoint_id}".encode()).hexdigest()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit and hit[0] > now:
                return hit[1]
        try:
            response = aws_clients.kms().decrypt(
                CiphertextBlob=ciphertext,
                EncryptionContext=encryption_context(platform_id, endpoint_id),
                KeyId=self._key_id,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            if code in PERMANENT_KMS_ERRORS:
                raise SecretUnreadable(f"the endpoint's signing secret cannot be decrypted ({code})") from None
            raise TemporarilyUnavailable(f"KMS could not open the signing secret right now ({code})") from None
        except BotoCoreError as exc:
            raise TemporarilyUnavailable(f"KMS is not reachable right now ({type(exc).__name__})") from None
        secret = response["Plaintext"].decode()
        with self._lock:
            self._cache[cache_key] = (now + self._cache_seconds, secret)
        return secret
