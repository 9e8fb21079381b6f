"""`sevbridge --stack NAME` reads everything from the stack's CloudFormation outputs: template.yaml must
output each resource the CLI needs, with the same value the functions get in their environment."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import load_template
from sevbridge_cli.environment import OUTPUT_TO_ENV, QUEUES, REQUIRED_OUTPUTS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_every_output_the_cli_needs_exists(template: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_OUTPUTS if name not in template["Outputs"]]
    assert not missing, f"template.yaml lacks the outputs {missing} that `sevbridge --stack` reads"


def test_outputs_carry_the_values_the_functions_get(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for output, env in OUTPUT_TO_ENV.items():
        assert template["Outputs"][output]["Value"] == variables[env], f"{output} is not what {env} is"


def test_dlq_outputs_are_the_dead_letter_queues_of_their_queues(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for name, (env, output) in QUEUES.items():
        source = variables[env]["Ref"]
        dlq = template["Resources"][source]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert template["Outputs"][output]["Value"] == {"Ref": dlq}, f"{output} is not the DLQ of the {name} queue"
