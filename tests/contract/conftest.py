"""Contract fixtures: the sevDesk spec (parsed once per session) and a request recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openapi_core import OpenAPI

from tests.contract.spec_recorder import SpecRecorder, load_openapi


@pytest.fixture(scope="session")
def sevdesk_openapi() -> OpenAPI:
    return load_openapi()


@pytest.fixture
def spec_recorder(sevdesk_openapi: OpenAPI) -> Iterator[SpecRecorder]:
    recorder = SpecRecorder(sevdesk_openapi)
    yield recorder
    recorder.close()
