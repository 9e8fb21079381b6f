"""Tenant tokens encrypted with KMS. The encryption context binds each ciphertext to its platform and
tenant (C1): a ciphertext copied to another tenant's row cannot be decrypted."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from sevbridge.adapters import aws_clients
from sevbridge.domain.errors import DomainError, TemporarilyUnavailable

# Codes that no retry can fix; anything else (throttling, KMS internal errors) is transient.
PERMANENT_KMS_ERRORS = frozenset(
    {
        "InvalidCiphertextException",
        "IncorrectKeyException",
        "AccessDeniedException",
        "NotFoundException",
        "DisabledException",
        "KMSInvalidStateException",
        "InvalidKeyUsageException",
    }
)


class TokenUnreadable(DomainError):
    code = "token_unreadable"


def encryption_context(platform_id: str, tenant_id: str) -> dict[str, str]:
    return {"platform": platform_id, "tenant": tenant_id}


class KmsTokenVault:
    """Decrypted tokens are cached briefly in memory so a batch of transfers costs one KMS call."""

    def __init__(self, key_id: str, *, cache_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self._key_id = key_id
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def seal(self, token: str, *, platform_id: str, tenant_id: str) -> bytes:
        response = aws_clients.kms().encrypt(
            KeyId=self._key_id,
            Plaintext=token.encode(),
            EncryptionContext=encryption_context(platform_id, tenant_id),
        )
        return response["CiphertextBlob"]

    def open(self, ciphertext: bytes, *, platform_id: str, tenant_id: str) -> str:
        cache_key = hashlib.sha256(ciphertext + f"|{platform_id}|{tenant_id}".encode()).hexdigest()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit and hit[0] > now:
                return hit[1]
        try:
            response = aws_clients.kms().decrypt(
                CiphertextBlob=ciphertext,
                EncryptionContext=encryption_context(platform_id, tenant_id),
                KeyId=self._key_id,
            )
        except ClientError as exc:
            # Never include the ciphertext or any plaintext; the error code is enough to diagnose.
            code = exc.response.get("Error", {}).get("Code", "unknown")
            if code in PERMANENT_KMS_ERRORS:
                raise TokenUnreadable(f"stored sevDesk token cannot be decrypted for this tenant ({code})") from None
            raise TemporarilyUnavailable(f"KMS could not decrypt the token right now ({code})") from None
        except BotoCoreError as exc:
            raise TemporarilyUnavailable(f"KMS is not reachable right now ({type(exc).__name__})") from None
        token = response["Plaintext"].decode()
        with self._lock:
            self._cache[cache_key] = (now + self._cache_seconds, token)
        return token

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
