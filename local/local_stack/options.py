"""The local stack's knobs, read from the environment (see docs/local-stack.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from local_stack.template import DEFAULT_TEMPLATE, REPO_ROOT


class OptionsError(ValueError):
    pass


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    api_port: int = 3000
    sandbox_port: int = 8089
    moto_port: int = 0  # 0 = any free port
    state_dir: Path = REPO_ROOT / ".local"
    schedule_seconds: float | None = None  # None = the template's rate()
    sevdesk_base_url: str | None = None  # None = the sandbox started by the stack
    log_level: str | None = None  # None = the template's LogLevel default
    template: Path = DEFAULT_TEMPLATE
    # Concurrent batches per SQS event source (Lambda runs up to MaximumConcurrency, or as many as
    # there are message groups); kept small because the whole stack shares this machine's cores.
    sqs_concurrency: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Options:
        return cls(
            api_port=_port(env, "SEVBRIDGE_PORT", cls.api_port),
            sandbox_port=_port(env, "SEVDESK_SANDBOX_PORT", cls.sandbox_port),
            moto_port=_port(env, "MOTO_PORT", cls.moto_port),
            state_dir=Path(env["SEVBRIDGE_STATE_DIR"]) if env.get("SEVBRIDGE_STATE_DIR") else cls.state_dir,
            schedule_seconds=_positive_float(env, "SEVBRIDGE_SCHEDULE_SECONDS"),
            sevdesk_base_url=env.get("SEVDESK_BASE_URL") or None,
            log_level=env.get("SEVBRIDGE_LOG_LEVEL", "").strip().upper() or None,
            sqs_concurrency=_count(env, "SEVBRIDGE_SQS_CONCURRENCY", cls.sqs_concurrency),
        )

    def pollers_for(self, maximum_concurrency: int | None) -> int:
        """How many batches of one event source run at once: never more than the template allows."""
        return max(1, min(self.sqs_concurrency, maximum_concurrency or self.sqs_concurrency))

    def template_parameters(self, sevdesk_base_url: str) -> dict[str, str]:
        parameters = {"SevdeskBaseUrl": sevdesk_base_url}
        if self.log_level:
            parameters["LogLevel"] = self.log_level
        return parameters

    @property
    def state_file(self) -> Path:
        return self.state_dir / "stack.json"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise OptionsError(f"{name} must be a port number (0 = any free port), got {raw!r}")
    return int(raw)


def _positive_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise OptionsError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise OptionsError(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)
