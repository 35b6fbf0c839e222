"""Helpers shared by the backup tests: a real moto S3 server and a context for procedures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.context import Context
from smc_maint.history import open_history

S3_KEY_ID = "AKIDTESTBACKUPS0001"
S3_SECRET = "s3-secret-" + "9f3c1d2e8a7b"


def make_ctx(cfg: LoadedConfig, *, dry_run: bool = False, clock: Any = None) -> Context:
    kwargs: dict[str, Any] = {}
    if clock is not None:
        kwargs["clock"] = clock
    return Context(cfg=cfg, history=open_history(cfg), run_id="test-run", group="daily", dry_run=dry_run,
                   log=logging.getLogger("smc_maint.test"), **kwargs)


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto's S3 server over real HTTP on 127.0.0.1, with a bucket; yields store config."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import httpx

    httpx.post(f"{endpoint}/moto-api/reset")  # moto keeps state per process, not per server
    monkeypatch.setenv("SMC_TEST_S3_KEY", S3_KEY_ID)
    monkeypatch.setenv("SMC_TEST_S3_SECRET", S3_SECRET)
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY_ID,
                          aws_secret_access_key=S3_SECRET)
    client.create_bucket(Bucket="smc-backups")
    yield {"kind": "s3", "s3": {"bucket": "smc-backups", "prefix": "daily/", "endpoint_url": endpoint,
                                "region": "us-east-1", "access_key_id_env": "SMC_TEST_S3_KEY",
                                "secret_access_key_env": "SMC_TEST_S3_SECRET"}, "client": client}
    server.stop()


def store_cfg(s3: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s3.items() if k != "client"}


@pytest.fixture
def backup_config(make_config: Any, base_dir: Any, tmp_path: Any) -> Any:
    """``make_config`` with the work directory where the unprivileged scratch server can reach it."""
    import uuid

    work = base_dir / f"work-{uuid.uuid4().hex[:8]}"

    def build(extra: dict[str, Any] | None = None) -> LoadedConfig:
        data: dict[str, Any] = {"backup": {"work_dir": str(work)}}
        for key, value in (extra or {}).items():
            if key == "backup":
                data["backup"].update(value)
            else:
                data[key] = value
        cfg: LoadedConfig = make_config(data)
        return cfg

    yield build
    import shutil

    shutil.rmtree(work, ignore_errors=True)
