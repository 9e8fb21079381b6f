"""Platforms and their API keys. Keys are shown once and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sevbridge.common.model import Model

KEY_PREFIX = "sbk_"


class Platform(Model):
    platform_id: str
    name: str
    created_at: datetime


def new_api_key() -> str:
    # 32 random bytes: unguessable; the prefix makes leaked keys easy to spot in secret scanners.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    # A fast hash is right here: the key has 256 bits of entropy, so there is nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_platform_id() -> str:
    return "plt_" + secrets.token_hex(8)


class StoredKey(Model):
    """A platform API key as stored: only its hash. `key_id` names it for operators (a prefix of the
    hash: it identifies the key without revealing anything usable)."""

    platform_id: str
    key_hash: str
    created_at: datetime

    @property
    def key_id(self) -> str:
        return key_id_of(self.key_hash)


def key_id_of(key_hash: str) -> str:
    return "key_" + key_hash[:12]
