"""`--stack NAME` finds every resource through the stack's CloudFormation outputs (describe_stacks), not
the environment: a stack created in moto whose outputs mimic template.yaml's, with the variables unset."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml

from sevbridge_cli.environment import OUTPUT_TO_ENV, QUEUES
from tests.functional.cli.conftest import TENANT, all_output, run_cli

STACK = "sevbridge-test"


def _create_stack(aws: Any, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "placeholder"}}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=yaml.safe_dump(template))


def _outputs_of(aws: Any) -> dict[str, str]:
    env = aws.environment()
    outputs = {output: env[variable] for output, variable in OUTPUT_TO_ENV.items()}
    by_logical_id = {q.logical_id: q.url for q in aws.queues.values()}
    for _, output in QUEUES.values():
        outputs[output] = by_logical_id[output.removesuffix("Url")]
    return outputs


def _forget_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for variable in OUTPUT_TO_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SEVBRIDGE_STATE_DIR", str(tmp_path))  # and no local stack either


def test_stack_outputs_are_enough_to_operate(
    api: Any, connected: Any, aws: Any, platform: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _create_stack(aws, _outputs_of(aws))
    _forget_environment(monkeypatch, tmp_path)

    tenants = run_cli("tenants", "list", "--stack", STACK, "--region", "eu-central-1", "--json")
    assert tenants.exit_code == 0, all_output(tenants)
    assert "using stack sevbridge-test" in tenants.stderr
    assert [t["tenant_id"] for t in json.loads(tenants.stdout)] == [TENANT]
    dlqs = run_cli("dlq", "show", "--stack", STACK, "--json")
    assert dlqs.exit_code == 0, all_output(dlqs)
    assert [q["queue"] for q in json.loads(dlqs.stdout)] == list(QUEUES)
    assert json.loads(run_cli("platforms", "list", "--stack", STACK, "--json").stdout)[0]["platform_id"] == (
        platform[0].platform_id
    )


def test_a_missing_stack_or_missing_outputs_are_named(aws: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    outputs = _outputs_of(aws)
    del outputs["WebhookDLQUrl"]
    _create_stack(aws, outputs)
    _forget_environment(monkeypatch, tmp_path)

    missing = run_cli("tenants", "list", "--stack", "no-such-stack")
    assert missing.exit_code == 3, all_output(missing)
    assert "does not exist" in missing.stderr
    incomplete = run_cli("tenants", "list", "--stack", STACK)
    assert incomplete.exit_code == 4, all_output(incomplete)
    assert "WebhookDLQUrl" in incomplete.stderr and "sam deploy" in incomplete.stderr
    nothing = run_cli("tenants", "list")
    assert nothing.exit_code == 2 and "make run" in nothing.stderr
    # A stack whose resources are gone (or a role without access): AWS's refusal in one line, exit 4.
    monkeypatch.setenv("PLATFORMS_TABLE", "sevbridge-deleted-platforms")
    for name, value in aws.environment().items():
        if name != "PLATFORMS_TABLE":
            monkeypatch.setenv(name, value)
    gone = run_cli("platforms", "list")
    assert gone.exit_code == 4, all_output(gone)
    assert "ResourceNotFoundException" in gone.stderr
    for result in (missing, incomplete, nothing, gone):
        assert "Traceback" not in all_output(result)
