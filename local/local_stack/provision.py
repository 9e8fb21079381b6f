"""Creates template.yaml's resources in moto, the way CloudFormation would, and describes the result.

Walks Resources and creates every DynamoDB table (keys, GSIs, TTL, PITR, SSE), SQS queue (FIFO
attributes, visibility, redrive to its DLQ by ARN) and KMS key + alias with boto3 against whatever
endpoint boto3 is pointed at (the local moto server, or `moto.mock_aws`). A resource is created the
first time something refers to it, so a DLQ exists before the queue that redrives into it.

The functions are not deployed; their environment, code location and event sources are resolved so
that the local stack can call the real handlers with the same variables they get on Lambda.
Calling `provision` again against the same endpoint finds and reuses what exists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from local_stack.intrinsics import Resolver, TemplateError
from local_stack.template import DEFAULT_TEMPLATE, FunctionDefinition, functions, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "sevbridge-local"
DEFAULT_REGION = "eu-central-1"
# Tag that lets a second provisioning run find the key it created (KMS keys have no name).
KEY_TAG = "local-stack:logical-id"


@dataclass(frozen=True)
class QueueInfo:
    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool


@dataclass(frozen=True)
class KeyInfo:
    logical_id: str
    key_id: str
    arn: str


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    arn: str


@dataclass(frozen=True)
class SqsSource:
    """An SQS event source mapping: `function` consumes `queue`."""

    function: str
    event_name: str
    queue: QueueInfo
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency; None = Lambda's own scaling


@dataclass(frozen=True)
class ScheduleSource:
    function: str
    event_name: str
    rule_name: str
    expression: str
    enabled: bool


@dataclass(frozen=True)
class ApiRoute:
    function: str
    event_name: str
    path: str
    method: str
    stage: str


@dataclass
class ProvisionedStack:
    stack_name: str
    region: str
    account_id: str
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)
    api_routes: list[ApiRoute] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The union of every function's variables: locally all handlers share one process.

        A variable with different values in different functions cannot be honoured there; it is
        reported instead of silently picking one.
        """
        merged: dict[str, str] = {}
        for function in self.functions.values():
            for name, value in function.environment.items():
                if merged.setdefault(name, value) != value:
                    log.warning("%s differs between functions; the local stack uses %r", name, merged[name])
        return merged

    def consumers(self) -> dict[str, str]:
        """queue logical id -> consuming function logical id."""
        return {source.queue.logical_id: source.function for source in self.sqs_sources}


def provision(
    template_path: Path = DEFAULT_TEMPLATE,
    *,
    parameters: dict[str, str] | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    endpoint_url: str | None = None,
) -> ProvisionedStack:
    template = load_template(template_path)
    session = boto3.session.Session(region_name=region)
    clients = _Clients(
        dynamodb=session.client("dynamodb", endpoint_url=endpoint_url),
        sqs=session.client("sqs", endpoint_url=endpoint_url),
        kms=session.client("kms", endpoint_url=endpoint_url),
        s3=session.client("s3", endpoint_url=endpoint_url),
    )
    account_id = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    stack = ProvisionedStack(stack_name=stack_name, region=region, account_id=account_id)
    _Provisioner(template, template_path.parent, stack, clients, parameters or {}).run()
    return stack


@dataclass(frozen=True)
class _Clients:
    dynamodb: DynamoDBClient
    sqs: SQSClient
    kms: KMSClient
    s3: S3Client


class _Provisioner:
    def __init__(
        self,
        template: dict[str, Any],
        template_dir: Path,
        stack: ProvisionedStack,
        clients: _Clients,
        parameters: dict[str, str],
    ) -> None:
        self._template = template
        self._resources: dict[str, dict[str, Any]] = template["Resources"]
        self._template_dir = template_dir
        self._stack = stack
        self._clients = clients
        self._in_progress: set[str] = set()
        self._resolver = Resolver(
            template,
            parameters=parameters,
            pseudo={
                "AWS::StackName": stack.stack_name,
                "AWS::Region": stack.region,
                "AWS::AccountId": stack.account_id,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": (
                    f"arn:aws:cloudformation:{stack.region}:{stack.account_id}:stack/{stack.stack_name}/local"
                ),
            },
            lookup=self._lookup,
        )
        self._creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::KMS::Key": self._create_key,
            "AWS::KMS::Alias": self._create_alias,
            "AWS::S3::Bucket": self._create_bucket,
        }

    def run(self) -> None:
        for logical_id, resource in self._resources.items():
            if not self._wanted(resource):
                self._stack.skipped[logical_id] = "condition is false"
            elif resource["Type"] in self._creators:
                self._ensure(logical_id)
            elif resource["Type"] != "AWS::Serverless::Function":
                self._stack.skipped[logical_id] = resource["Type"]
                log.debug("skipping %s %s: no local equivalent", resource["Type"], logical_id)
        for definition in functions(self._template):
            if self._wanted(self._resources[definition.logical_id]):
                self._add_function(definition)

    def _wanted(self, resource: dict[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self._resolver.condition(condition)

    def _physical_name(self, logical_id: str) -> str:
        return f"{self._stack.stack_name}-{logical_id}"

    # --- Ref / GetAtt ------------------------------------------------------------------------

    def _ensure(self, logical_id: str) -> None:
        resource = self._resources[logical_id]
        creator = self._creators.get(resource["Type"])
        if creator is None or self._created(logical_id):
            return
        if logical_id in self._in_progress:
            raise TemplateError(f"circular reference through {logical_id}")
        self._in_progress.add(logical_id)
        try:
            creator(logical_id, self._resolver.resolve(resource.get("Properties") or {}))
        finally:
            self._in_progress.discard(logical_id)

    def _created(self, logical_id: str) -> bool:
        stack = self._stack
        return any(
            logical_id in known for known in (stack.tables, stack.queues, stack.keys, stack.aliases, stack.buckets)
        )

    def _lookup(self, logical_id: str, attribute: str | None) -> str:
        resource = self._resources[logical_id]
        resource_type = resource["Type"]
        self._ensure(logical_id)
        stack = self._stack
        arn_prefix = f"arn:aws:{{}}:{stack.region}:{stack.account_id}"
        if resource_type == "AWS::DynamoDB::Table":
            name = stack.tables[logical_id]
            return name if attribute is None else f"{arn_prefix.format('dynamodb')}:table/{name}"
        if resource_type == "AWS::SQS::Queue":
            queue = stack.queues[logical_id]
            return {None: queue.url, "Arn": queue.arn, "QueueName": queue.name, "QueueUrl": queue.url}[attribute]
        if resource_type == "AWS::KMS::Key":
            key = stack.keys[logical_id]
            return key.arn if attribute == "Arn" else key.key_id
        if resource_type == "AWS::KMS::Alias":
            return stack.aliases[logical_id]
        if resource_type == "AWS::S3::Bucket":
            name = stack.buckets[logical_id]
            return {None: name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}[attribute]
        properties = resource.get("Properties") or {}
        if resource_type == "AWS::Serverless::Function":
            name = self._function_name(logical_id, properties)
            return name if attribute is None else f"{arn_prefix.format('lambda')}:function:{name}"
        if resource_type == "AWS::Logs::LogGroup":
            name = self._resolver.resolve_str(properties.get("LogGroupName", self._physical_name(logical_id)))
            return name if attribute is None else f"{arn_prefix.format('logs')}:log-group:{name}:*"
        # Not provisioned locally (API, layer, alarm, ...): a stable stand-in is enough for env vars.
        log.debug("standing in for %s.%s of unprovisioned %s", logical_id, attribute, resource_type)
        return self._physical_name(logical_id) if attribute is None else f"{logical_id}.{attribute}"

    def _function_name(self, logical_id: str, properties: dict[str, Any]) -> str:
        if "FunctionName" in properties:
            return self._resolver.resolve_str(properties["FunctionName"])
        return self._physical_name(logical_id)

    # --- DynamoDB ----------------------------------------------------------------------------

    def _create_table(self, logical_id: str, props: dict[str, Any]) -> None:
        ddb = self._clients.dynamodb
        name = str(props.get("TableName") or self._physical_name(logical_id))
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
            "DeletionProtectionEnabled": bool(props.get("DeletionProtectionEnabled", False)),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput", "Tags"):
            if key in props:
                request[key] = props[key]
        sse = props.get("SSESpecification")
        if sse:
            request["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled")),
                **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
                **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
            }
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        try:
            ddb.create_table(**request)
            log.debug("created table %s", name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            status = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        self._stack.tables[logical_id] = name

    # --- SQS ---------------------------------------------------------------------------------

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        sqs = self._clients.sqs
        fifo = bool(props.get("FifoQueue", False))
        name = str(props.get("QueueName") or self._physical_name(logical_id) + (".fifo" if fifo else ""))
        attributes: dict[Any, str] = {
            key: _queue_attribute(value)
            for key, value in props.items()
            if key not in ("QueueName", "Tags") and not (key == "FifoQueue" and not fifo)
        }
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            # Same queue, changed template: bring the mutable attributes in line.
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes.pop("FifoQueue", None)
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._stack.queues[logical_id] = QueueInfo(logical_id, name, url, arn, fifo)
        log.debug("queue %s ready", name)

    # --- S3 ----------------------------------------------------------------------------------

    def _create_bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = self._clients.s3
        # Bucket names are global and lower case: the stack name keeps stacks on one moto apart.
        name = str(props.get("BucketName") or f"{self._stack.stack_name}-{logical_id}".lower())
        try:
            if self._stack.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name,
                    CreateBucketConfiguration={"LocationConstraint": self._stack.region},  # type: ignore[typeddict-item]
                )
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "BucketEncryption" in props:
            # CloudFormation names the default ServerSideEncryptionByDefault; the S3 API says Apply….
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})  # type: ignore[misc, arg-type]
        lifecycle = props.get("LifecycleConfiguration")
        if lifecycle:
            rules = [
                {
                    "ID": rule.get("Id", f"rule-{i}"),
                    "Status": rule["Status"],
                    "Filter": {"Prefix": rule.get("Prefix", "")},
                    **({"Expiration": {"Days": int(rule["ExpirationInDays"])}} if "ExpirationInDays" in rule else {}),
                }
                for i, rule in enumerate(lifecycle.get("Rules", []))
            ]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})  # type: ignore[typeddict-item]
        self._stack.buckets[logical_id] = name
        log.debug("bucket %s ready", name)

    # --- KMS ---------------------------------------------------------------------------------

    def _create_key(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self._clients.kms
        metadata = self._find_key(logical_id)
        if metadata is None:
            request: dict[str, Any] = {
                "Description": str(props.get("Description", "")),
                "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
                "Tags": [
                    {"TagKey": KEY_TAG, "TagValue": f"{self._stack.stack_name}/{logical_id}"},
                    *({"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])),
                ],
            }
            if "KeyPolicy" in props:
                request["Policy"] = json.dumps(props["KeyPolicy"])
            metadata = dict(kms.create_key(**request)["KeyMetadata"])
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        self._stack.keys[logical_id] = KeyInfo(logical_id, metadata["KeyId"], metadata["Arn"])

    def _find_key(self, logical_id: str) -> dict[str, Any] | None:
        kms = self._clients.kms
        wanted = {"TagKey": KEY_TAG, "TagValue": f"{self._stack.stack_name}/{logical_id}"}
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
                if wanted in tags:
                    metadata: dict[str, Any] = dict(kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"])
                    return metadata
        return None

    def _create_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self._clients.kms
        alias, target = str(props["AliasName"]), str(props["TargetKeyId"])
        try:
            kms.create_alias(AliasName=alias, TargetKeyId=target)
        except ClientError as error:
            if error.response["Error"]["Code"] != "AlreadyExistsException":
                raise
            kms.update_alias(AliasName=alias, TargetKeyId=target)
        self._stack.aliases[logical_id] = alias

    # --- functions and their event sources ---------------------------------------------------

    def _add_function(self, definition: FunctionDefinition) -> None:
        resolve_str = self._resolver.resolve_str
        logical_id = definition.logical_id
        function = LocalFunction(
            logical_id=logical_id,
            name=self._function_name(logical_id, definition.properties),
            arn=self._lookup(logical_id, "Arn"),
            code_dir=(self._template_dir / resolve_str(definition.code_uri)).resolve(),
            handler=resolve_str(definition.handler),
            timeout=definition.timeout,
            memory_size=definition.memory_size,
            environment={name: resolve_str(value) for name, value in definition.environment.items()},
        )
        self._stack.functions[logical_id] = function
        for event_name, props in definition.events_of_type("SQS"):
            queue_arn = resolve_str(props["Queue"])
            queue = next((q for q in self._stack.queues.values() if q.arn == queue_arn), None)
            if queue is None:
                raise TemplateError(f"{logical_id}.{event_name}: queue {queue_arn} is not in the template")
            self._stack.sqs_sources.append(
                SqsSource(
                    function=logical_id,
                    event_name=event_name,
                    queue=queue,
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in self._resolver.resolve(props.get("FunctionResponseTypes", [])),
                    maximum_concurrency=_maximum_concurrency(self._resolver.resolve(props.get("ScalingConfig"))),
                )
            )
        for event_type, expression_key in (("Schedule", "Schedule"), ("ScheduleV2", "ScheduleExpression")):
            for event_name, props in definition.events_of_type(event_type):
                self._stack.schedules.append(
                    ScheduleSource(
                        function=logical_id,
                        event_name=event_name,
                        rule_name=resolve_str(props.get("Name", f"{logical_id}{event_name}")),
                        expression=resolve_str(props[expression_key]),
                        enabled=self._resolver.resolve(props.get("Enabled", True)) in (True, "true"),
                    )
                )
        for event_name, props in definition.events_of_type("Api"):
            self._stack.api_routes.append(
                ApiRoute(
                    function=logical_id,
                    event_name=event_name,
                    path=resolve_str(props["Path"]),
                    method=resolve_str(props["Method"]).upper(),
                    stage=self._api_stage(props.get("RestApiId")),
                )
            )

    def _api_stage(self, rest_api_id: Any) -> str:
        if isinstance(rest_api_id, dict) and "Ref" in rest_api_id:
            api = self._resources[rest_api_id["Ref"]].get("Properties") or {}
            return self._resolver.resolve_str(api.get("StageName", "Prod"))
        return "Prod"  # SAM's implicit API


def _queue_attribute(value: Any) -> str:
    """SQS wants every attribute as a string; CloudFormation allows YAML types and JSON objects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _maximum_concurrency(scaling: Any) -> int | None:
    value = scaling.get("MaximumConcurrency") if isinstance(scaling, dict) else None
    return int(value) if value is not None else None
