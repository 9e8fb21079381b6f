"""The in-process AWS: a moto server, and the environment that points boto3 at it."""

from __future__ import annotations

import os

from moto.server import ThreadedMotoServer

from local_stack import moto_fixes

# moto accepts any credentials; fixed fake ones make sure a developer's real ones are never used.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoService:
    def __init__(self, host: str, port: int) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> str:
        # Before the first request: transactions and FIFO queues must keep AWS's guarantees.
        moto_fixes.apply()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.stop()


def point_boto3_at(endpoint_url: str, region: str) -> None:
    """Make every boto3 client of this process (ours and the handlers') talk to moto."""
    # A named profile (SSO, assume-role) would be resolved before our variables are consulted.
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
