"""The local stack's own AWS: a moto server started exactly the way `make run` starts it
(`local_stack.aws.MotoService`, a ThreadedMotoServer in this process), reached over HTTP with boto3.

These tests hold the local stack to guarantees AWS gives and sevbridge relies on. They run against
the server (werkzeug threads, real concurrency: where the local stack lives); the deterministic ones
also run under `mock_aws` (`@on_both`), which the rest of the suite uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import FAKE_CREDENTIALS, MotoService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-central-1"
MOTO_SERVER, MOCK_AWS = "moto server", "mock_aws"
on_both = pytest.mark.parametrize("endpoint", [MOTO_SERVER, MOCK_AWS], indirect=True)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    service = MotoService("127.0.0.1", 0)
    url = service.start()
    try:
        yield url
    finally:
        service.stop()


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """The moto server's URL; or None inside `mock_aws` when a test is marked `@on_both`."""
    if getattr(request, "param", MOTO_SERVER) == MOTO_SERVER:
        yield request.getfixturevalue("moto_url")
        return
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield None


def client(endpoint: str | None, service: str) -> Any:
    """A client of its own (one per thread in the concurrency tests)."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


@pytest.fixture
def dynamodb(endpoint: str | None) -> DynamoDBClient:
    ddb: DynamoDBClient = client(endpoint, "dynamodb")
    return ddb


@pytest.fixture
def sqs(endpoint: str | None) -> SQSClient:
    queues: SQSClient = client(endpoint, "sqs")
    return queues


def create_table(dynamodb: DynamoDBClient) -> str:
    """A pk/sk table like sevbridge's (names are unique, so tests never share one)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def create_fifo_queue(sqs: SQSClient, **attributes: str) -> str:
    name = f"q-{uuid.uuid4().hex[:12]}.fifo"
    return sqs.create_queue(
        QueueName=name,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": "60", **attributes},
    )["QueueUrl"]
