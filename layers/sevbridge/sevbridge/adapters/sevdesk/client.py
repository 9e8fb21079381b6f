"""The sevDesk REST client: auth headers, `{"objects": …}` envelopes, typed errors, retries, brake.

One instance serves one tenant's token. It is cheap to create; the connection pool behind it is the
process-wide `default_http_client` unless the caller injects its own httpx.Client.

`time_left` (seconds, e.g. what the Lambda invocation has left minus a reserve) stops the client from
starting a call that might not finish in time: it raises SevdeskOutOfTime instead, having sent nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
from pydantic import SecretStr

from sevbridge import USER_AGENT
from sevbridge.adapters.sevdesk.brake import ErrorBrake, default_brake
from sevbridge.adapters.sevdesk.envelope import dump_body, single_object, unexpected_answer
from sevbridge.adapters.sevdesk.errors import (
    LOCAL_FAILURES,
    NEVER_SENT,
    error_from_response,
    mark_outcome_unknown,
    network_error,
    safe_path,
)
from sevbridge.adapters.sevdesk.gate import RequestGate, default_gate
from sevbridge.adapters.sevdesk.models import SevUser
from sevbridge.adapters.sevdesk.normalize import to_id
from sevbridge.adapters.sevdesk.params import QueryParams, encode_params
from sevbridge.adapters.sevdesk.retry import DEFAULT_MAX_THROTTLE_WAIT, CallState, Failure, RetryPolicy
from sevbridge.adapters.sevdesk.transport import default_http_client, make_timeout
from sevbridge.domain.sevdesk_errors import SevdeskError, SevdeskNotFound, SevdeskOutOfTime, SevdeskRateLimited

__all__ = ["SevdeskClient", "default_http_client"]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000  # sevDesk's documented upper bound for `limit`


class SevdeskClient:
    def __init__(
        self,
        token: str,
        *,
        base_url: str,
        tenant_key: str,
        http: httpx.Client | None = None,
        timeout: float = 20.0,
        max_attempts: int = 4,
        max_backoff: float = 20.0,
        max_throttle_wait: float = DEFAULT_MAX_THROTTLE_WAIT,
        brake: ErrorBrake | None = None,
        gate: RequestGate | None = None,
        sleep: Callable[[float], None] = time.sleep,
        time_left: Callable[[], float] | None = None,
    ) -> None:
        if not token or not token.strip():
            raise ValueError("a sevDesk token is required")
        # SecretStr keeps the token out of repr(), vars() dumps and pydantic serialisation.
        self._token = SecretStr(token)
        self.base_url = base_url.rstrip("/")
        self.tenant_key = tenant_key
        self._http = http if http is not None else default_http_client(timeout)
        self._timeout = make_timeout(timeout)
        self._longest_call = timeout
        self._time_left = time_left
        self._retry = RetryPolicy(
            max_attempts=max_attempts,
            max_backoff=max_backoff,
            sleep=sleep,
            max_throttle_wait=max_throttle_wait,
            time_left=time_left,
            longest_call=timeout,
        )
        self._brake = brake if brake is not None else default_brake
        self._gate = gate if gate is not None else default_gate

    def __repr__(self) -> str:
        return f"SevdeskClient(base_url={self.base_url!r}, tenant_key={self.tenant_key!r})"

    # -- generic verbs: each returns the unwrapped `objects` (list, object, scalar or None) --------

    def get(self, path: str, params: QueryParams | None = None) -> Any:
        return self._call("GET", path, params=params, body=None, replay_safe=True)

    def post(
        self,
        path: str,
        json: Any = None,
        params: QueryParams | None = None,
        *,
        retry_unsafe: bool = False,
    ) -> Any:
        """POST creates: resent after an unknown outcome only if the caller says it is harmless."""
        return self._call("POST", path, params=params, body=json, replay_safe=retry_unsafe)

    def put(
        self,
        path: str,
        json: Any = None,
        params: QueryParams | None = None,
        *,
        retry_unsafe: bool = True,
    ) -> Any:
        """PUT is usually idempotent; pass retry_unsafe=False for ones that are not (bookAmount)."""
        return self._call("PUT", path, params=params, body=json, replay_safe=retry_unsafe)

    def delete(self, path: str, params: QueryParams | None = None) -> Any:
        return self._call("DELETE", path, params=params, body=None, replay_safe=True)

    def get_one(self, path: str, params: QueryParams | None = None) -> dict[str, Any] | None:
        """A single object: unwraps `{"objects": {...}}` and `{"objects": [{...}]}`.

        None when sevDesk answers with an empty list or says the object does not exist (404, or
        400 with code NOT_FOUND/151); a plain 400 is not proof of absence and still raises.
        """
        try:
            objects = self.get(path, params)
        except SevdeskNotFound:
            return None
        return single_object(objects, path)

    def iter_pages(
        self, path: str, params: QueryParams | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every row of a list endpoint, walking limit/offset pages.

        sevDesk has no has-more flag: a short page is the last one. Rows that shift between pages
        while the data changes are yielded once (by `id`).
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        seen: set[str] = set()
        offset = 0
        while True:
            page = self.get(path, {**(params or {}), "limit": page_size, "offset": offset})
            rows = page if isinstance(page, list) else [] if page is None else [page]
            fresh = 0
            for row in rows:
                if not isinstance(row, dict):
                    continue
                row_id = to_id(row.get("id"))
                if row_id is not None:
                    if row_id in seen:
                        continue
                    seen.add(row_id)
                fresh += 1
                yield row
            if len(rows) < page_size:
                return
            if fresh == 0:
                # A full page of repeats means sevDesk ignored offset; stop instead of looping forever.
                logger.warning("sevdesk paging stopped on a page of repeats: %s", safe_path(path))
                return
            offset += page_size

    # -- foundation calls ---------------------------------------------------------------------

    def bookkeeping_system_version(self) -> str:
        """The account's bookkeeping system, "1.0" or "2.0"; sevbridge assumes 2.0 (Update 2.0)."""
        path = "/Tools/bookkeepingSystemVersion"
        row = single_object(self.get(path), path)
        version = row.get("version") if row else None
        if version is None or isinstance(version, dict | list):
            raise unexpected_answer("the bookkeeping system version is missing", path)
        return str(version)

    def current_user(self) -> SevUser:
        """The first row of `GET /SevUser`: the user the token belongs to in practice."""
        path = "/SevUser"
        rows = self.get(path)
        row = rows[0] if isinstance(rows, list) and rows else rows
        if not isinstance(row, dict):
            raise unexpected_answer("no SevUser was returned", path)
        return SevUser.from_api(row)

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: QueryParams | None, body: Any, replay_safe: bool) -> Any:
        url = self._url(path)
        # A query written into the path is kept: httpx would otherwise replace it with `params`.
        query = parse_qsl(path.partition("?")[2], keep_blank_values=True) + encode_params(params)
        content = None if body is None else dump_body(body)
        state = CallState(method=method, path=safe_path(path), replay_safe=replay_safe)
        response = self._retry.run(lambda: self._attempt(state, url, query, content), state)
        return self._unwrap(response, state)

    def _attempt(
        self, state: CallState, url: str, query: list[tuple[str, str]], content: bytes | None
    ) -> httpx.Response:
        state.attempts += 1
        try:
            # The tenant's request gate (gate.py): what sevDesk sees of all its lanes — serial, or paced to a rate.
            with self._gate.slot(self.tenant_key):
                self._before_send(state)  # after the wait for the slot: the brake or the time may have run out
                return self._send(state, url, query, content)
        except SevdeskRateLimited as exc:
            if exc.status is None:  # refused by the gate after another lane's 429: nothing was sent
                state.failed(Failure.THROTTLED)
                exc.method, exc.path = state.method, state.path
            raise

    def _before_send(self, state: CallState) -> None:
        try:
            self._brake.check(self.tenant_key)
            self._check_time()
        except SevdeskError as exc:
            state.failed(Failure.FINAL)
            exc.method, exc.path = state.method, state.path
            raise

    def _send(self, state: CallState, url: str, query: list[tuple[str, str]], content: bytes | None) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = self._http.request(
                state.method,
                url,
                params=tuple(query),
                content=content,
                headers=self._headers(has_body=content is not None),
                timeout=self._timeout,
            )
        except httpx.TransportError as exc:
            self._log(state, None, started)
            if isinstance(exc, NEVER_SENT):
                state.failed(Failure.NOT_SENT)
            elif isinstance(exc, LOCAL_FAILURES):
                state.failed(Failure.FINAL)
            else:
                state.failed(Failure.UNKNOWN)
            # `from None`: the httpx exception holds the request, headers and token included.
            raise network_error(exc, method=state.method, path=state.path) from None
        self._log(state, response.status_code, started)
        self._brake.record_answer(self.tenant_key, response.status_code)
        if response.is_success:
            return response
        if response.status_code == 429:
            state.failed(Failure.THROTTLED)
        elif response.status_code >= 500:
            state.failed(Failure.UNKNOWN)
        else:
            state.failed(Failure.FINAL)
        error = error_from_response(
            response,
            method=state.method,
            path=state.path,
            secrets=(self._token.get_secret_value(),),
        )
        if isinstance(error, SevdeskRateLimited):
            self._gate.quiet(self.tenant_key, error.retry_after)  # every lane of the tenant waits with it
        raise error

    def _check_time(self) -> None:
        if self._time_left is not None and self._time_left() < self._longest_call:
            raise SevdeskOutOfTime("too little time left in this invocation for another sevDesk call")

    def _unwrap(self, response: httpx.Response, state: CallState) -> Any:
        if not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            error = unexpected_answer(
                "the body is not JSON", state.path, method=state.method, status=response.status_code
            )
            if state.method != "GET":
                # sevDesk accepted the write, but we cannot tell what it created.
                mark_outcome_unknown(error)
            raise error from None
        if isinstance(body, dict) and "objects" in body:
            return body["objects"]
        return body  # the official spec shows some answers without the envelope

    def _url(self, path: str) -> str:
        bare = safe_path(path)
        # Only paths below base_url: an absolute URL would send the token to another host.
        if not bare.startswith("/") or bare.startswith("//") or "://" in bare:
            raise ValueError("path must be relative to the sevDesk base URL, e.g. '/Contact'")
        return self.base_url + bare

    def _headers(self, *, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": self._token.get_secret_value(),  # the bare token: sevDesk rejects "Bearer"
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _log(self, state: CallState, status: int | None, started: float) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        duration_ms = round((time.perf_counter() - started) * 1000)
        logger.debug(
            "sevdesk %s %s -> %s in %d ms (attempt %d)",
            state.method,
            state.path,
            status if status is not None else "network error",
            duration_ms,
            state.attempts,
            extra={
                "http_method": state.method,
                "http_path": state.path,
                "http_status": status,
                "duration_ms": duration_ms,
                "attempt": state.attempts,
                "tenant_key": self.tenant_key,
            },
        )
