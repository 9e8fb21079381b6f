"""boto3 clients, created lazily once per execution environment and reusable across invocations.

Lazy so that importing a handler never touches AWS (tests set up moto first); `reset()` lets tests and
the local stack start over after changing the environment (AWS_ENDPOINT_URL, credentials).
"""

from __future__ import annotations

import functools
import logging
import os
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


@functools.cache
def _client(service: str) -> Any:
    # boto3 honours AWS_ENDPOINT_URL itself, which is how the local stack points us at moto.
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def kms() -> KMSClient:
    client: KMSClient = _client("kms")
    return client


def s3() -> S3Client:
    # Path-style addressing when an endpoint is configured (the local stack's moto server): a bucket
    # name as a subdomain of 127.0.0.1 cannot resolve, and presigned URLs must reach the same server.
    client: S3Client = _s3(bool(os.environ.get("AWS_ENDPOINT_URL")))
    return client


@functools.cache
def _s3(path_style: bool) -> Any:
    config = _CONFIG.merge(Config(signature_version="s3v4"))
    if path_style:
        config = config.merge(Config(s3={"addressing_style": "path"}))
    return boto3.session.Session().client("s3", config=config)


def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def reset() -> None:
    _client.cache_clear()
    _s3.cache_clear()
