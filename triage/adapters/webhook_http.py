"""The webhook sender over HTTP (httpx), with short timeouts: a slow receiver delays only its own deliveries."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from triage.ports import WebhookSender

TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class HttpWebhookSender(WebhookSender):
    """POSTs deliveries with one pooled client; network failures become ``OSError`` for the dispatcher."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def send(self, url: str, *, headers: Mapping[str, str], body: bytes) -> int:
        try:
            return self.client.post(url, headers=dict(headers), content=body).status_code
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
