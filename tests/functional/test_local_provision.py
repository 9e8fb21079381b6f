"""The local stack creates template.yaml's resources in moto with the template's attributes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.provision import ProvisionedStack, provision
from local_stack.template import load_template, resources_of_type

pytestmark = pytest.mark.functional

REGION = "eu-central-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> ProvisionedStack:
    return provision(parameters={"SevdeskBaseUrl": "http://sandbox.invalid/api/v1"})


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_tables_have_keys_gsi_ttl_pitr_and_sse(stack: ProvisionedStack, template: dict[str, Any]) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    for logical_id, props in resources_of_type(template, "AWS::DynamoDB::Table"):
        name = stack.tables[logical_id]
        assert name == f"sevbridge-local-{logical_id}"
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])}
        for declared in props.get("GlobalSecondaryIndexes", []):
            index = indexes[declared["IndexName"]]
            assert index["KeySchema"] == declared["KeySchema"]
            assert index["Projection"] == declared["Projection"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in props:
            assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queues_are_fifo_with_visibility_and_redrive(stack: ProvisionedStack, template: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for logical_id, props in resources_of_type(template, "AWS::SQS::Queue"):
        queue = stack.queues[logical_id]
        attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        fifo = bool(props.get("FifoQueue"))
        assert queue.fifo is fifo
        assert queue.name == f"sevbridge-local-{logical_id}" + (".fifo" if fifo else "")
        assert attributes.get("FifoQueue", "false") == str(fifo).lower()
        assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])
        if "VisibilityTimeout" in props:
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
        if fifo:
            assert attributes["ContentBasedDeduplication"] == "false"
            assert attributes["DeduplicationScope"] == "messageGroup"
            assert attributes["FifoThroughputLimit"] == "perMessageGroupId"
        if "RedrivePolicy" in props:
            dlq_id = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert json.loads(attributes["RedrivePolicy"]) == {
                "deadLetterTargetArn": stack.queues[dlq_id].arn,
                "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
            }


def test_token_key_rotates_and_alias_points_at_it(stack: ProvisionedStack) -> None:
    kms = boto3.client("kms", region_name=REGION)
    key = stack.keys["TokenKey"]
    assert kms.get_key_rotation_status(KeyId=key.key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/sevbridge-dev-tokens"] == key.key_id
    # The handlers encrypt with the ARN from TOKEN_KEY_ID; the alias resolves to the same key.
    sealed = kms.encrypt(KeyId=stack.environment()["TOKEN_KEY_ID"], Plaintext=b"token")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=sealed)["KeyId"] == key.arn


def test_functions_get_the_same_variables_as_on_lambda(stack: ProvisionedStack) -> None:
    env = stack.environment()
    assert env["PLATFORMS_TABLE"] == stack.tables["PlatformsTable"]
    assert env["LEDGER_TABLE"] == stack.tables["LedgerTable"]
    assert env["TRANSFER_QUEUE_URL"] == stack.queues["TransferQueue"].url
    assert env["WEBHOOK_QUEUE_URL"] == stack.queues["WebhookQueue"].url
    assert env["TOKEN_KEY_ID"] == stack.keys["TokenKey"].arn
    assert env["SEVDESK_BASE_URL"] == "http://sandbox.invalid/api/v1"
    assert env["POWERTOOLS_SERVICE_NAME"] == "sevbridge"
    assert all(fn.environment == env for fn in stack.functions.values())
    api = stack.functions["ApiFunction"]
    assert api.name == "sevbridge-local-api"
    assert api.timeout == 29
    assert api.code_dir.name == "api"
    assert api.handler == "app.lambda_handler"


def test_event_sources_are_described(stack: ProvisionedStack) -> None:
    assert stack.consumers() == {
        "TransferQueue": "TransferWorkerFunction",
        "ImportQueue": "ImportWorkerFunction",
        "BackfillQueue": "BackfillFunction",
        "WebhookQueue": "WebhookDispatcherFunction",
    }
    assert all(source.report_batch_item_failures for source in stack.sqs_sources)
    # One import step / backfill message per invocation (its whole timeout is that work's budget).
    assert {source.queue.logical_id: source.batch_size for source in stack.sqs_sources} == {
        "TransferQueue": 10,
        "ImportQueue": 1,
        "BackfillQueue": 1,  # a chunk held back (pause, parked tenant) delays no other message
        "WebhookQueue": 10,
    }
    # ScalingConfig.MaximumConcurrency bounds the local pollers (Options.pollers_for).
    concurrency = {source.queue.logical_id: source.maximum_concurrency for source in stack.sqs_sources}
    assert concurrency["TransferQueue"] == 20 and concurrency["BackfillQueue"] == 5
    (schedule,) = stack.schedules
    assert (schedule.function, schedule.expression, schedule.enabled) == (
        "ImportSchedulerFunction",
        "rate(15 minutes)",
        True,
    )
    (route,) = stack.api_routes
    assert (route.function, route.path, route.method) == ("ApiFunction", "/v1/{proxy+}", "ANY")
    assert route.stage == "dev"
    assert stack.skipped["TransferDLQAlarm"] == "AWS::CloudWatch::Alarm"


def test_provisioning_twice_reuses_what_exists(stack: ProvisionedStack) -> None:
    kms = boto3.client("kms", region_name=REGION)
    keys_before = kms.list_keys()["Keys"]
    again = provision(parameters={"SevdeskBaseUrl": "http://sandbox.invalid/api/v1"})
    assert again.environment() == stack.environment()
    assert again.keys == stack.keys
    assert kms.list_keys()["Keys"] == keys_before


def test_parameters_flow_into_resources(aws: None) -> None:
    stack = provision(parameters={"Stage": "prod", "ImportScheduleExpression": "rate(1 minute)"})
    assert stack.aliases["TokenKeyAlias"] == "alias/sevbridge-prod-tokens"
    assert stack.schedules[0].expression == "rate(1 minute)"
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.tables["LedgerTable"])
    assert table["Table"]["DeletionProtectionEnabled"] is True
