"""Where the CLI finds the stack: a deployed CloudFormation stack's outputs (`--stack`), the
environment (Lambda-style variables), or the local stack's state file (`.local/stack.json`).

Whichever it is, the result is the environment the sevbridge package reads (template.yaml's
variables), so the CLI runs the same use cases through the composition root as the functions do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# CloudFormation output name → environment variable the sevbridge package reads.
OUTPUT_TO_ENV = {
    "PlatformsTableName": "PLATFORMS_TABLE",
    "TenantsTableName": "TENANTS_TABLE",
    "LedgerTableName": "LEDGER_TABLE",
    "JobsTableName": "JOBS_TABLE",
    "ChangesTableName": "CHANGES_TABLE",
    "OutboxTableName": "OUTBOX_TABLE",
    "TokenKeyArn": "TOKEN_KEY_ID",
    "TransferQueueUrl": "TRANSFER_QUEUE_URL",
    "ImportQueueUrl": "IMPORT_QUEUE_URL",
    "BackfillQueueUrl": "BACKFILL_QUEUE_URL",
    "BackfillBucketName": "BACKFILL_BUCKET",
    "WebhookQueueUrl": "WEBHOOK_QUEUE_URL",
}
# The dead-letter queues the CLI inspects and redrives: name → (source queue variable, DLQ output).
QUEUES = {
    "transfers": ("TRANSFER_QUEUE_URL", "TransferDLQUrl"),
    "imports": ("IMPORT_QUEUE_URL", "ImportDLQUrl"),
    "backfills": ("BACKFILL_QUEUE_URL", "BackfillDLQUrl"),
    "webhooks": ("WEBHOOK_QUEUE_URL", "WebhookDLQUrl"),
}
# Every output the CLI needs from a deployed stack (tests/unit/test_cli_stack_outputs.py checks template.yaml).
REQUIRED_OUTPUTS = (*OUTPUT_TO_ENV, *(dlq for _, dlq in QUEUES.values()))


class StackNotFound(RuntimeError):
    """No usable stack (every error `load` raises); `exit_code` says why (sevbridge_cli.common.ExitCode):
    3 the named stack does not exist, 2 none was named or found, 4 it cannot be used or reached."""

    exit_code = 3


class NoStack(StackNotFound):
    exit_code = 2


class StackUnusable(StackNotFound):
    exit_code = 4


@dataclass(frozen=True)
class Target:
    """The stack the CLI talks to."""

    kind: Literal["stack", "environment", "local"]
    description: str
    default_platform_id: str | None = None
    dlq_urls: dict[str, str] = field(default_factory=dict)  # queue name → DLQ URL, where the outputs say

    def __str__(self) -> str:
        return self.description

    @property
    def emulated(self) -> bool:
        """AWS is an emulator (the local stack's moto server): some AWS APIs behave differently there."""
        return bool(os.environ.get("AWS_ENDPOINT_URL"))


def default_state_file() -> Path:
    return Path(os.environ.get("SEVBRIDGE_STATE_DIR", ".local")) / "stack.json"


def load(stack: str | None, state_file: Path | None, region: str | None = None) -> Target:
    """Fills os.environ for the sevbridge package and says where it came from."""
    if region:
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    if stack:
        return _from_stack(stack, region)
    if os.environ.get("PLATFORMS_TABLE"):
        return Target("environment", "environment")
    path = state_file or default_state_file()
    if path.exists():
        facts = json.loads(path.read_text(encoding="utf-8"))
        os.environ.update({k: str(v) for k, v in facts.get("environment", {}).items()})
        # The local stack's AWS is its moto server; it accepts any credentials.
        os.environ["AWS_ENDPOINT_URL"] = facts["moto_url"]
        os.environ.setdefault("AWS_DEFAULT_REGION", facts.get("region", "eu-central-1"))
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        return Target("local", f"local stack ({path})", default_platform_id=facts.get("platform_id"))
    raise NoStack(
        "no sevbridge stack found: start one with `make run`, pass --stack NAME for a deployed stack, "
        "or set the environment variables of template.yaml"
    )


def _from_stack(stack: str, region: str | None) -> Target:
    try:
        client = boto3.session.Session(region_name=region).client("cloudformation")
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationError" and "does not exist" in str(error.get("Message")):
            raise StackNotFound(f"CloudFormation stack '{stack}' does not exist in this account and region") from None
        raise StackUnusable(f"CloudFormation refused describe_stacks for '{stack}': {error.get('Code')}") from None
    except BotoCoreError as exc:  # no credentials, no region, network
        raise StackUnusable(f"cannot reach CloudFormation: {exc}") from None
    found = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in REQUIRED_OUTPUTS if name not in found]
    if missing:
        raise StackUnusable(
            f"stack '{stack}' lacks the outputs {', '.join(missing)}: deploy the current template.yaml (sam deploy)"
        )
    for output, env in OUTPUT_TO_ENV.items():
        os.environ[env] = found[output]
    dlqs = {name: found[output] for name, (_, output) in QUEUES.items()}
    return Target("stack", f"stack {stack}", dlq_urls=dlqs)
