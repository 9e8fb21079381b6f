"""Use cases for platforms: create one (with its first API key), authenticate a key, and the operator's
key management: list a platform's keys, issue another (rotation), revoke keys (effective at once: the
gate reads the key on every request, nothing caches it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sevbridge.domain.errors import InvalidInput, NotFound, Unauthenticated
from sevbridge.domain.platform import Platform, StoredKey, hash_api_key, new_api_key, new_platform_id

if TYPE_CHECKING:  # the api's gate authenticates every request; the ports module pulls in every domain type
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


def get_platform(store: PlatformStore, platform_id: str) -> Platform:
    platform = store.get(platform_id)
    if platform is None:
        raise NotFound(f"no platform '{platform_id}'")
    return platform


def list_keys(store: PlatformStore, platform_id: str) -> list[StoredKey]:
    get_platform(store, platform_id)
    return sorted(store.list_keys(platform_id), key=lambda k: (k.created_at, k.key_id))


def issue_key(store: PlatformStore, clock: Clock, platform_id: str) -> tuple[StoredKey, str]:
    """A further key for the platform (rotation); the existing ones stay valid until revoked."""
    platform = get_platform(store, platform_id)
    api_key = new_api_key()
    key = StoredKey(platform_id=platform.platform_id, key_hash=hash_api_key(api_key), created_at=clock.now())
    store.add_key(platform, key)
    return key, api_key


def revoke_keys(store: PlatformStore, platform_id: str, key_ids: list[str] | None) -> list[StoredKey]:
    """Revokes the named keys (`key_…` ids), or every key of the platform when `key_ids` is None."""
    keys = list_keys(store, platform_id)
    if key_ids is not None:
        wanted = set(key_ids)
        unknown = wanted - {k.key_id for k in keys}
        if unknown:
            raise NotFound(f"platform '{platform_id}' has no key {', '.join(sorted(unknown))}")
        keys = [k for k in keys if k.key_id in wanted]
    store.delete_keys(keys)
    return keys
