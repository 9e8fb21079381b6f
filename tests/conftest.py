"""Every tier runs on the same corrected moto as the local stack (`local_stack.moto_fixes`): moto's
own transactions and FIFO queues break guarantees AWS gives (docs/local-stack.md)."""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from moto.kms import models as kms_models

from local_stack import moto_fixes

moto_fixes.apply()

_generate_private_key = kms_models.generate_private_key


@functools.cache
def _unused_private_key() -> Any:
    return _generate_private_key("SYMMETRIC_DEFAULT")


def _private_key(key_spec: str) -> Any:
    """moto gives every KMS key an RSA-2048 private key, also a symmetric key, which never signs; making
    one takes a tenth of a second and every moto world creates two. Symmetric keys share one (speed only:
    encryption uses each key's own material); signing keys still get their own."""
    return _unused_private_key() if key_spec == "SYMMETRIC_DEFAULT" else _generate_private_key(key_spec)


kms_models.generate_private_key = _private_key

# moto's `mock_aws` drops boto3's default session, so every moto world (and every composition root
# reset inside one) builds a new botocore session that parses the service models, endpoints and
# partitions JSON again: over half of a world's set-up. The models are read-only data, so all sessions
# of a test process share one loader (as all clients of one session already do on Lambda).
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs `pytest -n auto --dist loadfile`: a test module stays on one worker, so a
    module-scoped moto world is provisioned once. Here tests/e2e also counts as one module, so that one
    worker starts the local stack (tests/e2e/conftest.py starts it once per session, i.e. per worker).
    (xdist's own `loadgroup` marks do not take effect with pytest 9.2: xdist 3.8 renames `item._nodeid`.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/e2e" if module.startswith("tests/e2e/") else module

    return ModuleScheduling(config, log)
