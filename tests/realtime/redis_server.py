"""A throw-away redis-server on a loopback port (Debian's redis-server package).

Without redis-server installed the fixture skips saying why; under CI=true the test suite
turns that skip into a failure (tests/conftest.py), and scripts/test.sh installs it as root.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.realtime.conftest import free_port

START_SECONDS = 10


def redis_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def start_redis(binary: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    """Start redis-server on 127.0.0.1:`port` (no persistence) and wait until it answers."""
    process = subprocess.Popen(  # noqa: S603 (a fixed binary and arguments)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + START_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"redis-server exited with {process.returncode}")
            try:
                if client.ping():
                    return process
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    stop_redis(process)
                    raise
                time.sleep(0.05)
    finally:
        client.close()


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    process = start_redis(binary, port, tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(process)
