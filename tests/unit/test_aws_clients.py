"""The AWS clients of a function come from one boto3 session (issue 10 §4): a session per client loaded
botocore's shared data (endpoints, partitions, retry rules) again for every client on a cold start."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from sevbridge.adapters import aws_clients

pytestmark = pytest.mark.unit


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    made: list[Any] = []

    class CountedSession(boto3.session.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setattr(boto3.session, "Session", CountedSession)
    aws_clients.reset()
    yield made
    aws_clients.reset()


def test_every_client_comes_from_one_session(sessions: list[Any]) -> None:
    clients = [aws_clients.dynamodb(), aws_clients.sqs(), aws_clients.kms(), aws_clients.s3()]

    assert len(sessions) == 1
    assert [c.meta.service_model.service_name for c in clients] == ["dynamodb", "sqs", "kms", "s3"]
    assert aws_clients.dynamodb() is clients[0]  # made once, reused across invocations


def test_clients_made_from_several_threads_at_once_are_one_per_service(sessions: list[Any]) -> None:
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda i: aws_clients.sqs() if i % 2 else aws_clients.dynamodb(), range(16)))

    assert len(sessions) == 1
    assert len({id(c) for c in made}) == 2


def test_reset_starts_a_new_session(sessions: list[Any]) -> None:
    aws_clients.dynamodb()
    aws_clients.reset()
    aws_clients.dynamodb()

    assert len(sessions) == 2
