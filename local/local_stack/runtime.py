"""Loads the real handlers from the template's CodeUri + Handler and invokes them like Lambda does.

Every function's `app.py` is imported under its own module name (`local_fn_<LogicalId>`), so six
files called app.py can live in one process, and a function added to the template is picked up
without code changes here.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from local_stack.lambda_context import LocalLambdaContext
from local_stack.provision import LocalFunction

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class HandlerLoadError(RuntimeError):
    pass


class FunctionRuntime:
    """The execution environments of one function: the handler is loaded once (cold start) and at
    most `concurrency` invocations run at a time, like that many Lambda environments. With 1 (the
    default) invocations are serialised. Locally the environments share one module, so module-global
    logger keys may mix in the logs of concurrent invocations; per-invocation state the handlers
    depend on lives in context variables."""

    def __init__(self, function: LocalFunction, *, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.function = function
        self.concurrency = concurrency
        self._handler: Handler | None = None
        self._load_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)

    @property
    def name(self) -> str:
        return self.function.name

    def invoke(self, event: Any) -> Any:
        with self._slots:
            handler = self._handler or self._load()
            context = LocalLambdaContext(
                function_name=self.function.name,
                invoked_function_arn=self.function.arn,
                memory_limit_in_mb=self.function.memory_size,
                timeout_seconds=self.function.timeout,
            )
            started = time.monotonic()
            try:
                return handler(event, context)
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.function.timeout:
                    # Lambda would have killed the invocation; locally we can only say so loudly.
                    log.warning(
                        "%s ran %.1f s, longer than its %d s timeout",
                        self.function.name,
                        elapsed,
                        self.function.timeout,
                    )

    def _load(self) -> Handler:
        with self._load_lock:
            if self._handler is None:
                self._handler = load_handler(self.function)
            return self._handler


def load_handler(function: LocalFunction) -> Handler:
    module_path, _, attribute = function.handler.rpartition(".")
    if not module_path or not attribute:
        raise HandlerLoadError(f"{function.logical_id}: Handler {function.handler!r} is not module.function")
    source = function.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
    if not source.is_file():
        raise HandlerLoadError(f"{function.logical_id}: {source} does not exist")
    module = _import_file(f"local_fn_{function.logical_id}", source)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerLoadError(f"{function.logical_id}: {source} has no callable {attribute!r}")
    return handler  # type: ignore[no-any-return]


def _import_file(module_name: str, source: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise HandlerLoadError(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
