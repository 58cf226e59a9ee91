"""Amazon SQS as the sandbox reaches it: boto3 against an endpoint (``--sqs-endpoint``, e.g. moto in server mode on
loopback), exactly as Amazon's notification service writes to a merchant's queue on AWS.

No fake here: without an endpoint, or without boto3, delivery fails and the failure is recorded on the message.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARN = re.compile(r"^arn:aws:sqs:(?P<region>[^:\s]+):(?P<account>[^:\s]+):(?P<name>[^:\s]+)$")
# moto (like any SQS endpoint) wants credentials; they are not secrets: the endpoint is local.
LOCAL_ACCESS_KEY = "sandbox"  # noqa: S105
LOCAL_SECRET_KEY = "sandbox"  # noqa: S105


class SqsError(Exception):
    """The queue cannot be reached or written to (message for the sandbox's records)."""


@dataclass(frozen=True)
class QueueArn:
    region: str
    account: str
    name: str


def parse_arn(arn: str) -> QueueArn | None:
    found = ARN.match(arn)
    return QueueArn(found["region"], found["account"], found["name"]) if found else None


class SqsSender:
    """Sends to queues named by ARN through one endpoint; clients and queue URLs are cached (thread-safe)."""

    def __init__(self, endpoint: str, *, timeout: float = 10.0):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._urls: dict[str, str] = {}

    def _client(self, region: str):
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                # Imported on first use: boto3 costs about 20 MB and half a second to import, and only a sandbox that
                # delivers notifications needs it.
                import boto3
                from botocore.config import Config

                client = boto3.client("sqs", region_name=region, endpoint_url=self.endpoint,
                                      aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY,
                                      config=Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                                                    retries={"max_attempts": 1}))
                self._clients[region] = client
            return client

    def queue_url(self, arn: str) -> str:
        """The queue's URL (``GetQueueUrl`` with the owner's account, as for a queue of another AWS account)."""
        with self._lock:
            if arn in self._urls:
                return self._urls[arn]
        parsed = parse_arn(arn)
        if parsed is None:
            raise SqsError(f"not an SQS queue ARN: {arn}")
        try:
            url = self._client(parsed.region).get_queue_url(QueueName=parsed.name,
                                                            QueueOwnerAWSAccountId=parsed.account)["QueueUrl"]
        except SqsError:
            raise
        except Exception as exc:
            raise SqsError(f"queue {arn} is not reachable at {self.endpoint}: {exc}")
        with self._lock:
            self._urls[arn] = url
        return url

    def send(self, arn: str, body: str) -> str:
        """Send one message; returns SQS's MessageId."""
        url = self.queue_url(arn)
        parsed = parse_arn(arn)
        assert parsed is not None
        try:
            return self._client(parsed.region).send_message(QueueUrl=url, MessageBody=body)["MessageId"]
        except Exception as exc:
            with self._lock:  # the queue may have been deleted and made again: look its URL up next time
                self._urls.pop(arn, None)
            raise SqsError(f"SendMessage to {arn} failed: {exc}")


# ---- a real SQS locally: moto in server mode ----------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def run_moto(*, port: int | None = None, log_path: str | os.PathLike | None = None,
             startup_timeout: float = 30.0) -> Iterator[str]:
    """Run ``python -m moto.server`` on loopback (a free port unless ``port``); yields its endpoint URL, stops it on
    exit. Reach it with boto3 as AWS: ``boto3.client("sqs", endpoint_url=url, region_name=..., aws_access_key_id=...,
    aws_secret_access_key=...)`` (any key works)."""
    host = "127.0.0.1"
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)], stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                tail = Path(log_path).read_text(errors="replace")[-2000:] if log_path else ""
                raise RuntimeError(f"moto server exited with code {process.returncode}\n{tail}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):  # noqa: S310 - loopback URL
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {url} within {startup_timeout} s")
                time.sleep(0.1)  # polling the server's start, bounded by the deadline above
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if log_path:
            log.close()
