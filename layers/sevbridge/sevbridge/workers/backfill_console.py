"""The backfill function's operator console: direct invocations `{"action": …}` (Lambda console test
events in events/). Imported by the first console event, not on the function's cold start: the queue's
messages never need it, and it answers with the API's backfill view (its schemas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from sevbridge import wiring
from sevbridge.api.schemas_backfills import BackfillView, FiltersBody
from sevbridge.common.model import Model
from sevbridge.common.observability import logger
from sevbridge.domain.backfill.jobs import Direction, PushKind
from sevbridge.domain.errors import DomainError
from sevbridge.domain.pull.records import ImportKind


class ConsoleAction(Model):
    """What an operator pastes into the Lambda console (events/backfill-*.json)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["start", "status", "cancel", "resume", "retry-failed"]
    platform_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    backfill_id: str | None = Field(default=None, description="An existing backfill; start creates one without")
    direction: Direction | None = None
    kind: PushKind | None = None
    kinds: list[ImportKind] | None = None
    object_key: str | None = Field(default=None, description="push: an NDJSON object in the backfill bucket")
    filters: FiltersBody | None = None


def handle_console(event: dict[str, Any]) -> dict[str, Any]:
    """Runs one action; answers the backfill's view, or {"error": …} naming the problem."""
    try:
        action = ConsoleAction.model_validate(event)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return {"error": {"code": "invalid_input", "message": "invalid console event", "details": problems}}
    logger.append_keys(platform_id=action.platform_id, tenant_id=action.tenant_id, backfill_id=action.backfill_id)
    service = wiring.backfill_service()
    p, t = action.platform_id, action.tenant_id
    try:
        if action.action == "start" and action.backfill_id is None:
            job = service.create(
                p,
                t,
                direction=action.direction or Direction.PUSH,
                kind=action.kind,
                kinds=action.kinds or [],
                filters=action.filters.domain() if action.filters else None,
                source="upload" if action.object_key else "inline",
                object_key=action.object_key,
            )
            job = service.start(p, t, job.job_id)
        elif action.backfill_id is None:
            return {
                "error": {
                    "code": "invalid_input",
                    "message": f"{action.action} needs backfill_id",
                    "details": [{"field": "backfill_id", "problem": "required"}],
                }
            }
        else:
            operation = {
                "start": service.start,
                "status": service.get,
                "cancel": service.cancel,
                "resume": service.resume,
                "retry-failed": service.retry_failed,
            }[action.action]
            job = operation(p, t, action.backfill_id)
    except DomainError as exc:
        return {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    logger.info("console action", extra={"action": action.action, "state": job.state.value})
    return BackfillView.of(job, wiring.clock().now()).model_dump(mode="json")
