"""Record the requests SevdeskClient sends and validate them against sevDesk's OpenAPI specs.

Every request is checked against both specs, the community-corrected and the official one
(spec_deviations.BOTH), each with only its own listed deviations tolerated.

Typical contract test (fixtures from conftest.py):

    def test_create_contact(spec_recorder):
        client = spec_recorder.client()
        client.post("/Contact", json={...})
        spec_recorder.assert_all_valid()

The stub behind the client answers 200 `{"objects": ...}` (queue specific answers with
`spec_recorder.answer(...)`); only requests are validated, never responses. `RecordingTransport`
can also wrap any other transport (e.g. the sandbox's) to validate what a real flow sends.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sevbridge import USER_AGENT
from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from tests.contract.spec_deviations import BOTH, SPEC_FILES, SpecName, apply_spec_patches, undocumented

SPEC_SERVER_URL = "https://my.sevdesk.de/api/v1"  # the spec's first server; requests must target it
CONTRACT_TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee00"  # 32 hex characters, like a real token


def spec_path(spec_name: SpecName = "community") -> Path:
    """`<repo root>/../shared/sevdesk/openapi.yaml` (or the official one); the repo root is found by its
    pyproject.toml."""
    here = Path(__file__).resolve()
    root = next((p for p in here.parents if (p / "pyproject.toml").is_file()), None)
    if root is None:
        raise FileNotFoundError(f"no pyproject.toml above {here}")
    return root.parent / "shared" / "sevdesk" / SPEC_FILES[spec_name]


def read_spec(spec_name: SpecName = "community") -> dict[str, Any]:
    """The unpatched spec as a fresh dict (the C loader parses the ~780 KB in about 0.1 s)."""
    path = spec_path(spec_name)
    if not path.is_file():
        raise FileNotFoundError(f"sevDesk spec not found at {path} (shared/ must sit beside the repo)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)
    return spec


@functools.cache
def load_openapi(spec_name: SpecName = "community") -> OpenAPI:
    """The spec with our documented deviations applied, parsed once per process."""
    # The specs fail openapi-core's self-validation (None defaults on non-nullable strings).
    spec = apply_spec_patches(read_spec(spec_name), spec_name)
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class HttpxOpenAPIRequest:
    """openapi-core's request protocol over an httpx.Request."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("Content-Type", ""))


def _api_path(request: httpx.Request) -> str:
    prefix = httpx.URL(SPEC_SERVER_URL).path
    path = request.url.path
    return path[len(prefix) :] if path.startswith(prefix) else path


def _header_problems(request: httpx.Request) -> list[str]:
    """Our half of the contract (api-facts §1) that the spec cannot express."""
    problems = []
    auth = request.headers.get("Authorization", "")
    if not auth:
        problems.append("no Authorization header")
    elif auth.lower().startswith("bearer"):
        problems.append("Authorization must be the bare token, not 'Bearer …'")
    if request.headers.get("Accept") != "application/json":
        problems.append("Accept must be application/json")
    if request.headers.get("User-Agent") != USER_AGENT:
        problems.append("User-Agent must be sevbridge.USER_AGENT")
    if request.content and request.headers.get("Content-Type") != "application/json":
        problems.append("a body needs Content-Type: application/json")
    if "token" in request.url.params:
        problems.append("never send the token as a query parameter")
    return problems


def _spec_problems(openapi: OpenAPI, request: httpx.Request) -> list[str]:
    try:
        openapi.validate_request(HttpxOpenAPIRequest(request))
    except Exception as exc:  # openapi-core raises a family of errors; report them all alike
        details = []
        cause: BaseException | None = exc
        while cause is not None:
            for error in getattr(cause, "schema_errors", ()) or ():
                where = "/".join(str(p) for p in error.absolute_path) or "<root>"
                details.append(f"{where}: {error.message}")
            cause = cause.__cause__
        summary = str(exc).split("\n", 1)[0][:300]
        return [f"{type(exc).__name__}: {summary}", *details]
    return []


def request_problems(
    request: httpx.Request, openapi: OpenAPI | None = None, *, spec_name: SpecName = "community"
) -> list[str]:
    """Problems with one request under one spec: `openapi` defaults to that spec with its deviations
    (pass a raw one to see what the deviations tolerate)."""
    problems = _header_problems(request)
    if undocumented(_api_path(request), spec_name) is None:
        problems += _spec_problems(openapi or load_openapi(spec_name), request)
    return problems


def problems_under_specs(request: httpx.Request, specs: Iterable[SpecName] = BOTH) -> list[str]:
    """The request's problems under each spec, each prefixed with the spec's name."""
    header = _header_problems(request)
    problems = list(header)
    for name in specs:
        problems += [f"[{name} spec] {p}" for p in request_problems(request, spec_name=name) if p not in header]
    return problems


def assert_requests_match_spec(recorded: Iterable[httpx.Request], specs: Iterable[SpecName] = BOTH) -> None:
    """Fail with one readable line per problem (never headers: they hold the token)."""
    requests = list(recorded)
    specs = tuple(specs)
    assert requests, "no request was recorded"
    report = []
    for request in requests:
        problems = problems_under_specs(request, specs)
        if problems:
            where = f"{request.method} {request.url.path}"
            if request.url.query:
                where += f"?{request.url.query.decode()}"
            report.append(where + "".join(f"\n    - {p}" for p in problems))
    assert not report, "requests do not match the sevDesk spec:\n" + "\n".join(report)


class RecordingTransport(httpx.BaseTransport):
    """Records every request, then hands it to the wrapped transport."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)


class RebaseTransport(httpx.BaseTransport):
    """Sends requests addressed to the spec's server (SPEC_SERVER_URL) to another base URL instead.

    Lets a client keep `base_url=SPEC_SERVER_URL`, so that the recorded requests carry the URL the
    spec validates, while a local server (e.g. the sevDesk sandbox) answers them. Requests to any
    other URL are refused, never sent anywhere.
    """

    def __init__(self, target_base_url: str, inner: httpx.BaseTransport | None = None) -> None:
        self.target = httpx.URL(target_base_url.rstrip("/"))
        self.inner = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        source = httpx.URL(SPEC_SERVER_URL)
        url = request.url
        if (url.scheme, url.host, url.port) != (source.scheme, source.host, source.port) or not (
            url.path == source.path or url.path.startswith(source.path + "/")
        ):
            raise httpx.UnsupportedProtocol(f"RebaseTransport only forwards {SPEC_SERVER_URL}/…, not {url}")
        rebased = url.copy_with(
            scheme=self.target.scheme,
            host=self.target.host,
            port=self.target.port,
            raw_path=self.target.raw_path + url.raw_path[len(source.raw_path) :],
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        forwarded = httpx.Request(
            request.method, rebased, headers=headers, content=request.content, extensions=request.extensions
        )
        return self.inner.handle_request(forwarded)

    def close(self) -> None:
        self.inner.close()


def stub_answer(request: httpx.Request) -> httpx.Response:
    """200 with a plausible envelope: a list for GET, an object for writes."""
    objects: Any = [] if request.method == "GET" else {"id": "1", "objectName": "Stub"}
    return httpx.Response(200, json={"objects": objects})


class SpecRecorder:
    def __init__(self, openapi: OpenAPI) -> None:
        self.openapi = openapi
        self._answers: deque[httpx.Response] = deque()
        self.transport = RecordingTransport(httpx.MockTransport(self._answer))
        self._http = httpx.Client(transport=self.transport)

    @property
    def requests(self) -> list[httpx.Request]:
        return self.transport.requests

    def answer(self, objects: Any = None, *, status: int = 200) -> SpecRecorder:
        """Queue the next answer's `objects` (later requests fall back to `stub_answer`)."""
        self._answers.append(httpx.Response(status, json={"objects": objects}))
        return self

    def client(self, **overrides: Any) -> SevdeskClient:
        kwargs: dict[str, Any] = {
            "base_url": SPEC_SERVER_URL,
            "tenant_key": "contract-test",
            "http": self._http,
            "brake": ErrorBrake(),
            "sleep": lambda _seconds: None,
        }
        kwargs.update(overrides)
        return SevdeskClient(CONTRACT_TOKEN, **kwargs)

    def assert_all_valid(self) -> None:
        assert_requests_match_spec(self.requests)

    def close(self) -> None:
        self._http.close()

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return self._answers.popleft() if self._answers else stub_answer(request)
