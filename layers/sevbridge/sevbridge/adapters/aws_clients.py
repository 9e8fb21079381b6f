"""boto3 clients, created lazily once per execution environment and reusable across invocations.

Lazy so that importing a handler never touches AWS (tests set up moto first); `reset()` lets tests and
the local stack start over after changing the environment (AWS_ENDPOINT_URL, credentials).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

# At DEBUG, botocore logs whole request and response bodies — KMS plaintexts among them (sevDesk tokens,
# webhook signing secrets, base64-encoded). Keep those two loggers at INFO unless an operator configured
# them explicitly; a DEBUG root logger then still shows everything else.
for _name in ("botocore.endpoint", "botocore.parsers"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)


# One session for every client: a session loads and caches botocore's shared data (endpoints, partitions,
# retry rules, defaults); a session per client loaded it again for each one, tens of ms per client on a
# cold start (issue 10 §4). A session is not thread-safe (clients are): clients are made under a lock,
# which also makes each one once when several threads ask at the same time.
_making = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.cache
def _make(service: str, path_style: bool = False) -> Any:
    config = _CONFIG
    if service == "s3":
        config = config.merge(Config(signature_version="s3v4"))
        if path_style:
            config = config.merge(Config(s3={"addressing_style": "path"}))
    # boto3 honours AWS_ENDPOINT_URL itself, which is how the local stack points us at moto.
    return _session().client(service, config=config)  # type: ignore[call-overload]


def _client(service: str, path_style: bool = False) -> Any:
    with _making:
        return _make(service, path_style)


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def kms() -> KMSClient:
    client: KMSClient = _client("kms")
    return client


def s3() -> S3Client:
    # Path-style addressing when an endpoint is configured (the local stack's moto server): a bucket
    # name as a subdomain of 127.0.0.1 cannot resolve, and presigned URLs must reach the same server.
    client: S3Client = _client("s3", path_style=bool(os.environ.get("AWS_ENDPOINT_URL")))
    return client


def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def reset() -> None:
    with _making:
        _make.cache_clear()
        _session.cache_clear()
