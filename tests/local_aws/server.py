"""moto's server on loopback inside the test process, with this package's extension installed."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from moto.sagemaker import models as sagemaker
from moto.server import ThreadedMotoServer

from . import install


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def local_aws() -> Iterator[str]:
    """moto's server, extended (``install``), on a free loopback port; yields its URL (``http://localhost:<port>``:
    moto parses path-style S3 URLs for that host name only)."""
    # moto's instance-type list predates g5/g6/p4/p5; SageMaker accepts them.
    original = sagemaker.FakeEndpointConfig.validate_instance_type
    sagemaker.FakeEndpointConfig.validate_instance_type = lambda self, instance_type: None  # type: ignore[method-assign]
    uninstall = install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.stop()
        uninstall()
        sagemaker.FakeEndpointConfig.validate_instance_type = original  # type: ignore[method-assign]
