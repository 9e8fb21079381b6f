"""Use cases for platforms: create one (with its first API key) and authenticate a key."""

from __future__ import annotations

from sevbridge.domain.errors import InvalidInput, Unauthenticated
from sevbridge.domain.platform import Platform, hash_api_key, new_api_key, new_platform_id
from sevbridge.domain.ports import Clock, PlatformStore


def create_platform(store: PlatformStore, clock: Clock, name: str) -> tuple[Platform, str]:
    """Returns the platform and its API key. The key is not stored and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("platform name must be 1 to 100 characters")
    platform = Platform(platform_id=new_platform_id(), name=name, created_at=clock.now())
    api_key = new_api_key()
    store.save(platform, hash_api_key(api_key))
    return platform, api_key


def authenticate(store: PlatformStore, authorization: str | None) -> Platform:
    """Resolves `Authorization: Bearer <key>` to a platform; one vague error for every failure."""
    if not authorization:
        raise Unauthenticated("missing Authorization header: send 'Authorization: Bearer <platform API key>'")
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <platform API key>'")
    platform = store.find_by_key_hash(hash_api_key(key.strip()))
    if platform is None:
        raise Unauthenticated("unknown or revoked platform API key")
    return platform
