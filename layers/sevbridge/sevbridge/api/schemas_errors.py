"""The error body every 4xx/5xx carries: its own module, because the gate answers errors before any
route (and its schemas) is loaded."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from sevbridge.common.model import Model


class ErrorDetail(Model):
    """One problem. `field` is a path of documented names and list indexes (e.g. `settings.unit_mapping.*`,
    `events.2.data.positions.0.quantity`); `*` stands for a key the caller made up, which is never repeated."""

    model_config = ConfigDict(extra="allow")

    field: str | None = Field(default=None, description="Where the problem is; `body` for the body as a whole.")
    problem: str | None = Field(default=None, description="What is wrong there, for people.")
    type: str | None = Field(default=None, description="Machine-readable kind, e.g. `missing`, `extra_forbidden`.")
    reason: str | None = Field(default=None, description="A machine-readable cause, e.g. `invalid_token`.")


class ErrorBody(Model):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`, `not_found`.")
    message: str = Field(description="What went wrong, for people. Never repeats a value the caller sent.")
    details: list[ErrorDetail] = Field(default_factory=list, description="One entry per problem.")


class ErrorResponse(Model):
    error: ErrorBody
