"""Creates the demo platform through the same domain code the API and CLI use."""

from __future__ import annotations

from dataclasses import dataclass

from sevbridge.adapters.dynamo_platforms import DynamoPlatformStore
from sevbridge.common.clock import SystemClock
from sevbridge.domain.platforms import create_platform

DEMO_PLATFORM_NAME = "Demo Platform"


@dataclass(frozen=True)
class DemoPlatform:
    platform_id: str
    api_key: str


def create_demo_platform(platforms_table: str) -> DemoPlatform:
    store = DynamoPlatformStore(platforms_table)
    platform, api_key = create_platform(store, SystemClock(), DEMO_PLATFORM_NAME)
    return DemoPlatform(platform_id=platform.platform_id, api_key=api_key)
