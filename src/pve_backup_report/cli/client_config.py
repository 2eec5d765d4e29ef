"""PVE settings → client configuration, apart from the pipeline so that `--check-api` can
build a client without importing the collectors and the report (it must start fast)."""

from __future__ import annotations

from ..api.client import ClientConfig, pve_authorization
from ..config import PveSettings

__all__ = ["client_config"]


def client_config(pve: PveSettings) -> ClientConfig:
    return ClientConfig(
        base_urls=pve.base_urls,
        authorization=pve_authorization(pve.token_id, pve.token_secret),
        verify_tls=pve.verify_tls,
        ca_bundle=pve.ca_bundle,
        fingerprint=pve.fingerprint,
        timeout=pve.timeout,
        max_concurrency=pve.max_concurrency,
        allow_http=pve.allow_insecure_http,
    )
