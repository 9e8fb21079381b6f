"""template.yaml keeps the promises the code and the runbooks rely on."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import (
    REPO_ROOT,
    FunctionDefinition,
    functions,
    load_template,
    merge_globals,
    resources_of_type,
)
from sevbridge.config import Settings

pytestmark = pytest.mark.unit

# Variables every function may carry besides sevbridge's own settings.
OBSERVABILITY_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "LOG_LEVEL",
}
SETTINGS_ALIASES = {str(field.alias) for field in Settings.model_fields.values()}
REQUIRED_ALIASES = {str(field.alias) for field in Settings.model_fields.values() if field.is_required()}
TABLES = ["PlatformsTable", "TenantsTable", "LedgerTable", "JobsTable", "ChangesTable", "OutboxTable"]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    return resources


def props(resources: dict[str, dict[str, Any]], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = resources[logical_id]["Properties"]
    return properties


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sqs_consumers(template: dict[str, Any]) -> list[tuple[FunctionDefinition, dict[str, Any]]]:
    return [(fn, event) for fn in functions(template) for _, event in fn.events_of_type("SQS")]


# --- the loader --------------------------------------------------------------------------------


def test_loader_turns_short_tags_into_long_forms(tmp_path: Any) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      R: !Ref B\n"
        "      G: !GetAtt B.Arn\n"
        "      S: !Sub '${AWS::StackName}-x'\n"
        "      I: !If [C, !Ref B, !Ref AWS::NoValue]\n"
        "      J: !Join ['', [a, !Ref B]]\n"
    )
    properties = load_template(path)["Resources"]["A"]["Properties"]
    assert properties == {
        "R": {"Ref": "B"},
        "G": {"Fn::GetAtt": ["B", "Arn"]},
        "S": {"Fn::Sub": "${AWS::StackName}-x"},
        "I": {"Fn::If": ["C", {"Ref": "B"}, {"Ref": "AWS::NoValue"}]},
        "J": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
    }


def test_loaded_template_is_parsed_once_per_version_and_each_caller_gets_its_own_copy(tmp_path: Any) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  A:\n    Type: X\n")
    first = load_template(path)
    first["Resources"].clear()  # a caller changing its copy changes nobody else's
    assert load_template(path)["Resources"] == {"A": {"Type": "X"}}
    path.write_text("Resources:\n  Changed:\n    Type: Y\n")  # an edited file is read anew
    assert load_template(path)["Resources"] == {"Changed": {"Type": "Y"}}


def test_globals_merge_like_sam() -> None:
    merged = merge_globals(
        {"Timeout": 30, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["L1"]},
        {"Timeout": 300, "Environment": {"Variables": {"B": "3"}}, "Layers": ["L2"]},
    )
    assert merged == {
        "Timeout": 300,
        "Environment": {"Variables": {"A": "1", "B": "3"}},
        "Layers": ["L1", "L2"],
    }


# --- functions ---------------------------------------------------------------------------------


def test_every_function_gets_exactly_the_settings_variables(template: dict[str, Any]) -> None:
    for fn in functions(template):
        names = set(fn.environment)
        assert names >= REQUIRED_ALIASES, f"{fn.logical_id} misses {REQUIRED_ALIASES - names}"
        assert "SEVDESK_BASE_URL" in names
        stray = names - SETTINGS_ALIASES - OBSERVABILITY_VARIABLES
        assert not stray, f"{fn.logical_id} sets variables nothing reads: {stray}"


def test_function_runtime_and_observability(template: dict[str, Any]) -> None:
    for fn in functions(template):
        assert fn.properties["Runtime"] == "python3.12"
        assert fn.properties["Architectures"] == ["arm64"]
        assert fn.properties["Tracing"] == "Active"
        assert fn.properties["Layers"] == [ref("SevbridgeLayer")]
        assert fn.handler == "app.lambda_handler"
        assert fn.code_uri.startswith("functions/")
        assert fn.environment["POWERTOOLS_SERVICE_NAME"] == "sevbridge"
        assert fn.environment["POWERTOOLS_METRICS_NAMESPACE"] == "sevbridge"


def test_layer_is_built_by_sam_for_arm64(resources: dict[str, dict[str, Any]]) -> None:
    layer = resources["SevbridgeLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/sevbridge/"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # The Makefile at the root builds it (tests/unit/test_dependencies.py checks the recipe).
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64", "ContextPath": "."}
    assert "build-SevbridgeLayer:" in (REPO_ROOT / "Makefile").read_text(encoding="utf-8")


def test_each_function_logs_to_its_own_group_with_retention(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    for fn in functions(template):
        group_id = fn.properties["LoggingConfig"]["LogGroup"]["Ref"]
        group = props(resources, group_id)
        name = fn.properties["FunctionName"]["Fn::Sub"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}
    for logical_id, group in resources_of_type(template, "AWS::Logs::LogGroup"):
        assert group["RetentionInDays"] == ref("LogRetentionDays"), logical_id


def test_api_function_serves_the_v1_proxy(template: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
    api = next(fn for fn in functions(template) if fn.logical_id == "ApiFunction")
    events = [event for _, event in api.events_of_type("Api")]
    assert {"RestApiId": ref("SevbridgeApi"), "Path": "/v1/{proxy+}", "Method": "ANY"} in events
    api_props = props(resources, "SevbridgeApi")
    assert api_props["TracingEnabled"] is True
    assert api_props["AccessLogSetting"]["DestinationArn"] == get_att("ApiAccessLogGroup", "Arn")
    assert api_props["MethodSettings"][0]["ThrottlingRateLimit"] > 0


def test_import_schedule_runs_every_15_minutes_by_default(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ImportScheduleExpression"]["Default"] == "rate(15 minutes)"
    scheduler = next(fn for fn in functions(template) if fn.logical_id == "ImportSchedulerFunction")
    schedules = [event for _, event in scheduler.events_of_type("Schedule")]
    assert [event["Schedule"] for event in schedules] == [ref("ImportScheduleExpression")]


# --- queues ------------------------------------------------------------------------------------


def test_sqs_consumers_report_partial_batch_failures(template: dict[str, Any]) -> None:
    consumers = sqs_consumers(template)
    assert {fn.logical_id for fn, _ in consumers} == {
        "TransferWorkerFunction",
        "ImportWorkerFunction",
        "BackfillFunction",
        "WebhookDispatcherFunction",
    }
    for fn, event in consumers:
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], fn.logical_id
        assert 1 <= event["BatchSize"] <= 10, fn.logical_id


def test_queue_visibility_is_at_least_six_times_the_consumer_timeout(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    for fn, event in sqs_consumers(template):
        queue_id = event["Queue"]["Fn::GetAtt"][0]
        visibility = props(resources, queue_id)["VisibilityTimeout"]
        assert visibility >= 6 * fn.timeout, f"{queue_id}: {visibility} s < 6 x {fn.timeout} s"


def test_every_queue_has_a_dead_letter_queue_of_its_kind(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    queues = dict(resources_of_type(template, "AWS::SQS::Queue"))
    dlq_ids = {
        q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in queues.values() if "RedrivePolicy" in q
    }
    work_queues = set(queues) - dlq_ids
    assert work_queues == {"TransferQueue", "ImportQueue", "BackfillQueue", "WebhookQueue"}
    for queue_id in work_queues:
        queue = queues[queue_id]
        redrive = queue["RedrivePolicy"]
        dlq = queues[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        # Transfers (in the ledger) and imports (in the run) count real attempts themselves; pauses and
        # group hand-backs are extra receives. Backfill chunks run transfers too, and come back while their
        # tenant waits for a new token or their pull backfill's import runs.
        expected = {"TransferQueue": 50, "ImportQueue": 50, "BackfillQueue": 100}.get(queue_id, 5)
        assert redrive["maxReceiveCount"] == expected, queue_id
        assert dlq.get("FifoQueue", False) == queue.get("FifoQueue", False), queue_id
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    for queue_id, queue in queues.items():
        assert queue["SqsManagedSseEnabled"] is True, queue_id


def test_fifo_queues_dedup_per_tenant_group(template: dict[str, Any]) -> None:
    fifo = {qid: q for qid, q in resources_of_type(template, "AWS::SQS::Queue") if q.get("FifoQueue")}
    assert {"TransferQueue", "ImportQueue", "BackfillQueue"} <= set(fifo)
    for queue_id, queue in fifo.items():
        assert queue["ContentBasedDeduplication"] is False, queue_id
        assert queue["DeduplicationScope"] == "messageGroup", queue_id
        assert queue["FifoThroughputLimit"] == "perMessageGroupId", queue_id


def test_webhook_queue_is_standard_for_per_message_delays(resources: dict[str, dict[str, Any]]) -> None:
    assert "FifoQueue" not in props(resources, "WebhookQueue")


# --- tables and key ----------------------------------------------------------------------------


def test_tables_are_durable_and_encrypted(template: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
    assert [logical_id for logical_id, _ in resources_of_type(template, "AWS::DynamoDB::Table")] == TABLES
    for table_id in TABLES:
        table = props(resources, table_id)
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"]["SSEEnabled"] is True
        assert table["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
        assert resources[table_id]["DeletionPolicy"] == "Retain"
        assert resources[table_id]["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("table_id", ["LedgerTable", "JobsTable", "ChangesTable", "OutboxTable"])
def test_expiring_tables_have_ttl(resources: dict[str, dict[str, Any]], table_id: str) -> None:
    assert props(resources, table_id)["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_outbox_indexes_list_deliveries_and_hold_only_pending_ones_for_the_tick(
    resources: dict[str, dict[str, Any]],
) -> None:
    gsi1, gsi2 = props(resources, "OutboxTable")["GlobalSecondaryIndexes"]
    assert (gsi1["IndexName"], gsi2["IndexName"]) == ("gsi1", "gsi2")
    for index, prefix in ((gsi1, "gsi1"), (gsi2, "gsi2")):
        assert index["KeySchema"] == [
            {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
            {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
        ]
        # Only small attributes are copied: status changes cost index writes of bytes, not whole payloads.
        assert index["Projection"]["ProjectionType"] == "INCLUDE"
        assert "doc" not in index["Projection"]["NonKeyAttributes"]


def test_webhook_dispatcher_has_exactly_what_delivery_needs(template: dict[str, Any]) -> None:
    dispatcher = next(fn for fn in functions(template) if fn.logical_id == "WebhookDispatcherFunction")
    assert policy_grants(dispatcher) == {
        ("DynamoDBCrudPolicy", "OutboxTable"),
        ("DynamoDBReadPolicy", "TenantsTable"),
        ("KMSDecryptPolicy", "TokenKey"),
        ("SQSSendMessagePolicy", "WebhookQueue"),
    }


def test_import_worker_has_exactly_what_an_import_needs(template: dict[str, Any]) -> None:
    worker = next(fn for fn in functions(template) if fn.logical_id == "ImportWorkerFunction")
    assert policy_grants(worker) == {
        ("DynamoDBCrudPolicy", "TenantsTable"),  # connection (401 flip), mapping rows (echoes)
        ("DynamoDBCrudPolicy", "JobsTable"),  # runs, state, index
        ("DynamoDBCrudPolicy", "ChangesTable"),  # the change feed
        ("DynamoDBCrudPolicy", "OutboxTable"),  # notices in the run's final transaction
        ("DynamoDBReadPolicy", "LedgerTable"),  # pending platform versions (conflicts); never writes
        ("KMSDecryptPolicy", "TokenKey"),
        ("SQSSendMessagePolicy", "ImportQueue"),  # continue / resume
        ("SQSPollerPolicy", "ImportQueue"),  # sqs:ChangeMessageVisibility: retry after 1, 2, 4… minutes
        ("SQSSendMessagePolicy", "WebhookQueue"),
    }


def test_import_scheduler_has_exactly_what_the_tick_needs(template: dict[str, Any]) -> None:
    scheduler = next(fn for fn in functions(template) if fn.logical_id == "ImportSchedulerFunction")
    assert policy_grants(scheduler) == {
        ("DynamoDBReadPolicy", "TenantsTable"),  # the sparse import index
        ("DynamoDBWritePolicy", "TenantsTable"),  # claims: the conditional move of import_due
        ("DynamoDBCrudPolicy", "LedgerTable"),  # stranded and parked transfers
        ("DynamoDBCrudPolicy", "OutboxTable"),  # the webhook sweep
        ("SQSSendMessagePolicy", "ImportQueue"),
        ("SQSSendMessagePolicy", "TransferQueue"),
        ("SQSSendMessagePolicy", "WebhookQueue"),
    }


def test_every_function_that_notifies_can_write_the_outbox_and_wake_the_dispatcher(template: dict[str, Any]) -> None:
    for logical_id in ("ApiFunction", "TransferWorkerFunction", "ImportSchedulerFunction", "ImportWorkerFunction"):
        fn = next(f for f in functions(template) if f.logical_id == logical_id)
        assert {("DynamoDBCrudPolicy", "OutboxTable"), ("SQSSendMessagePolicy", "WebhookQueue")} <= policy_grants(fn)


@pytest.mark.parametrize(
    ("table_id", "projection"), [("LedgerTable", "KEYS_ONLY"), ("JobsTable", "ALL"), ("ChangesTable", "ALL")]
)
def test_queryable_tables_have_gsi1(resources: dict[str, dict[str, Any]], table_id: str, projection: str) -> None:
    # The ledger's index is sparse and KEYS_ONLY: state changes never rewrite whole items in it (docs/ledger.md).
    (index,) = props(resources, table_id)["GlobalSecondaryIndexes"]
    assert index == {
        "IndexName": "gsi1",
        "KeySchema": [
            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": projection},
    }


def test_token_key_rotates_and_has_a_stage_alias(resources: dict[str, dict[str, Any]]) -> None:
    assert props(resources, "TokenKey")["EnableKeyRotation"] is True
    alias = props(resources, "TokenKeyAlias")
    assert alias == {
        "AliasName": {"Fn::Sub": "alias/sevbridge-${Stage}-tokens"},
        "TargetKeyId": ref("TokenKey"),
    }


# --- least privilege ---------------------------------------------------------------------------


def policy_grants(fn: FunctionDefinition) -> set[tuple[str, str]]:
    """(policy template, logical id of the resource it is scoped to)."""
    grants = set()
    for policy in fn.properties.get("Policies", []):
        ((name, argument),) = policy.items()
        (value,) = argument.values()
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        grants.add((name, target))
    return grants


def test_only_the_api_encrypts_tokens_and_nobody_writes_platforms(template: dict[str, Any]) -> None:
    for fn in functions(template):
        grants = policy_grants(fn)
        assert ("KMSEncryptPolicy", "TokenKey") not in grants or fn.logical_id == "ApiFunction"
        assert ("DynamoDBCrudPolicy", "PlatformsTable") not in grants, fn.logical_id
        assert all(name.endswith("Policy") for name, _ in grants)


def test_api_can_store_and_test_tokens_and_enqueue(template: dict[str, Any]) -> None:
    api = next(fn for fn in functions(template) if fn.logical_id == "ApiFunction")
    assert {
        ("DynamoDBReadPolicy", "PlatformsTable"),
        ("KMSEncryptPolicy", "TokenKey"),
        ("KMSDecryptPolicy", "TokenKey"),
        ("SQSSendMessagePolicy", "TransferQueue"),
        ("SQSSendMessagePolicy", "ImportQueue"),
        ("SQSSendMessagePolicy", "BackfillQueue"),
    } <= policy_grants(api)


# --- alarms and outputs ------------------------------------------------------------------------


def test_dead_letter_queues_and_function_errors_alarm(template: dict[str, Any]) -> None:
    alarms = [alarm for _, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm")]
    watched_queues = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched_queues == {"TransferDLQ", "ImportDLQ", "BackfillDLQ", "WebhookDLQ"}
    watched_functions = {alarm["Dimensions"][0]["Value"]["Ref"] for alarm in alarms if alarm["MetricName"] == "Errors"}
    assert watched_functions == {fn.logical_id for fn in functions(template)}
    for alarm in alarms:
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]}


def test_outputs_name_what_tests_and_operators_need(template: dict[str, Any]) -> None:
    outputs = set(template["Outputs"])
    assert {"ApiUrl", "TokenKeyArn", "TokenKeyAliasName"} <= outputs
    assert {f"{table}Name" for table in TABLES} <= outputs
    assert {f"{queue}Url" for queue in ("TransferQueue", "ImportQueue", "BackfillQueue", "WebhookQueue")} <= outputs
    assert {f"{fn.logical_id}Name" for fn in functions(template)} <= outputs


def test_transfer_worker_may_hold_failed_messages_back(template: dict[str, Any]) -> None:
    worker = next(fn for fn in functions(template) if fn.logical_id == "TransferWorkerFunction")
    assert ("SQSPollerPolicy", "TransferQueue") in policy_grants(worker)  # sqs:ChangeMessageVisibility


def test_the_request_gate_is_a_stack_parameter_with_the_settings_defaults(template: dict[str, Any]) -> None:
    """Politeness towards sevDesk is a deployment's choice; the template's defaults are the code's."""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for variable, parameter in [
        ("SEVDESK_TENANT_REQUESTS_IN_FLIGHT", "SevdeskTenantRequestsInFlight"),
        ("SEVDESK_TENANT_REQUESTS_PER_SECOND", "SevdeskTenantRequestsPerSecond"),
    ]:
        assert variables[variable] == ref(parameter)
        field = next(f for f in Settings.model_fields.values() if f.alias == variable)
        assert template["Parameters"][parameter]["Default"] == field.default
