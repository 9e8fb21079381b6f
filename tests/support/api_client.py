"""Calls the real api handler with API Gateway REST proxy events, as API Gateway would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local_stack.apigw import rest_event
from local_stack.lambda_context import LocalLambdaContext


@dataclass
class ApiResult:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class HandlerApiClient:
    """`client.put("/v1/tenants/t1/connection", json={...}, key=api_key)` → ApiResult."""

    def __init__(self, handler: Any, api_key: str | None = None, *, timeout_seconds: int = 29) -> None:
        self._handler = handler
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds  # the function's timeout, as the context reports it

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: str | bytes | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | list[tuple[str, str]] | None = None,
        content_type: str | None = "application/json",
    ) -> ApiResult:
        """`content_type=None` sends no Content-Type header; bytes that are not UTF-8 arrive
        base64-encoded, as the local gateway sends them."""
        all_headers = {"Content-Type": content_type} if content_type is not None else {}
        all_headers.update(headers or {})
        api_key = key if key is not None else self.api_key
        if api_key:
            all_headers.setdefault("Authorization", f"Bearer {api_key}")
        body = raw_body if raw_body is not None else (json.dumps(json_body) if json_body is not None else None)
        event = rest_event(method, path, headers=all_headers, query=query, body=body)
        context = LocalLambdaContext(
            function_name="api",
            invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:api",
            memory_limit_in_mb=512,
            timeout_seconds=self.timeout_seconds,
        )
        result = self._handler(event, context)
        headers_out = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        # The REST resolver answers with multiValueHeaders; API Gateway merges both maps.
        headers_out.update({k: ", ".join(map(str, v)) for k, v in (result.get("multiValueHeaders") or {}).items()})
        return ApiResult(status=result["statusCode"], headers=headers_out, body=result.get("body") or "")

    def get(self, path: str, **kw: Any) -> ApiResult:
        return self.request("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> ApiResult:
        return self.request("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> ApiResult:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResult:
        return self.request("DELETE", path, **kw)
