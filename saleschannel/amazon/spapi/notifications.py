"""Notifications API v1 (``notifications.json``) through the gateway: the same library client, pacing, retries and
strict checks as every other call (``Gateway.call``); kept here because gateway.py is at its size limit.

Destinations are **grantless** (LWA ``client_credentials`` grant, scope ``sellingpartnerapi::notifications``);
subscriptions are the seller's (createSubscription, getSubscription), deleteSubscriptionById takes either.
The library's grantless helper sets the Host header from ``endpoint[8:]`` (https only): ``_grantless`` sends the
same headers with the endpoint's real host, so overrides (the sandbox on http://127.0.0.1) work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from sp_api.api import Notifications

from saleschannel.amazon.spapi import client as sp_client
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway

ORDER_CHANGE = "ORDER_CHANGE"
PAYLOAD_VERSION = "1.0"
ORDER_CHANGE_TYPES = ["OrderStatusChange", "BuyerRequestedChange"]


class NotificationsGateway:
    """Notifications v1 for the store of ``gateway`` (``Gateway.for_store(store)``)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def _client(self):
        return self.gateway._client(Notifications)

    def _grantless(self, operation: str, path: str, *, method: str = "GET", body: dict | None = None):
        client = self._client()

        def run():
            headers = {
                "host": urlsplit(client.endpoint).netloc,
                "user-agent": client.user_agent,
                "x-amz-access-token": client.grantless_auth.access_token,
                "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                "content-type": "application/json",
            }
            if method == "GET":
                return client._request(path, params={}, headers=headers)
            return client._request(path, data={**(body or {}), "method": method}, headers=headers)

        return self.gateway.call(operation, run, retry_unknown_outcome=method == "GET")

    # Destinations (grantless) ---------------------------------------------------------------------------------
    def get_destinations(self) -> list[dict]:
        response = self._grantless("getDestinations", "/notifications/v1/destinations")
        payload = (response.raw_json or {}).get("payload")
        return payload if isinstance(payload, list) else []

    def create_destination(self, *, name: str, queue_arn: str) -> dict:
        response = self._grantless("createDestination", "/notifications/v1/destinations", method="POST",
                                   body={"name": name, "resourceSpecification": {"sqs": {"arn": queue_arn}}})
        return (response.raw_json or {}).get("payload") or {}

    # Subscriptions (the seller's) -----------------------------------------------------------------------------
    def get_subscription(self) -> dict | None:
        """The store's ORDER_CHANGE subscription, or None (Amazon: 404)."""
        client = self._client()
        try:
            response = self.gateway.call("getSubscription", lambda: client._request(
                f"/notifications/v1/subscriptions/{ORDER_CHANGE}", params={"payloadVersion": PAYLOAD_VERSION}))
        except AmazonError as error:
            if error.status == 404:
                return None
            raise
        return (response.raw_json or {}).get("payload") or None

    def create_subscription(self, *, destination_id: str, marketplace_ids: list[str]) -> dict:
        client = self._client()
        body = {"payloadVersion": PAYLOAD_VERSION, "destinationId": destination_id,
                "processingDirective": {"eventFilter": {"eventFilterType": ORDER_CHANGE,
                                                       "orderChangeTypes": list(ORDER_CHANGE_TYPES),
                                                       "marketplaceIds": list(marketplace_ids)}}}
        response = self.gateway.call("createSubscription", lambda: sp_client.post(
            client, f"/notifications/v1/subscriptions/{ORDER_CHANGE}", body), retry_unknown_outcome=False)
        return (response.raw_json or {}).get("payload") or {}

    def delete_subscription(self, subscription_id: str) -> None:
        client = self._client()
        self.gateway.call("deleteSubscriptionById", lambda: client._request(
            f"/notifications/v1/subscriptions/{ORDER_CHANGE}/{subscription_id}", params={"method": "DELETE"}))
