"""Where the CLI finds the stack: the environment (Lambda-style variables), the local stack's
state file, or a deployed CloudFormation stack's outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3

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


class StackNotFound(RuntimeError):
    pass


def default_state_file() -> Path:
    return Path(os.environ.get("SEVBRIDGE_STATE_DIR", ".local")) / "stack.json"


def load(stack: str | None, state_file: Path | None) -> str:
    """Fills os.environ for the sevbridge package; returns a description of where it came from."""
    if stack:
        outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        found = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        for output, env in OUTPUT_TO_ENV.items():
            if output in found:
                os.environ[env] = found[output]
        return f"stack {stack}"
    if os.environ.get("PLATFORMS_TABLE"):
        return "environment"
    path = state_file or default_state_file()
    if path.exists():
        facts = json.loads(path.read_text(encoding="utf-8"))
        os.environ.update({k: str(v) for k, v in facts.get("environment", {}).items()})
        # The local stack's AWS is its moto server; it accepts any credentials.
        os.environ["AWS_ENDPOINT_URL"] = facts["moto_url"]
        os.environ.setdefault("AWS_DEFAULT_REGION", facts.get("region", "eu-central-1"))
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        return f"local stack ({path})"
    raise StackNotFound(
        "no sevbridge stack found: start one with `make run`, pass --stack NAME for a deployed stack, "
        "or set the environment variables of template.yaml"
    )
