"""Point python-amazon-sp-api (``sp_api``) at the sandbox, or at any endpoint and LWA token URL.

``sp_api`` builds its host from ``Marketplaces`` (``client.endpoint``) and its token URL from
``AccessTokenClient.scheme + host + path``; both can be replaced without touching the library::

    from sp_api.api import Orders, OrdersV0, Feeds
    client = sp_api_client(OrdersV0, endpoint=sandbox.url, token_url=sandbox.token_url,
                           credentials=sandbox.credentials)

Note: ``sp_api`` caches access tokens for 3200 s whatever ``expires_in`` says (``sp_api.auth.access_token_client
.cache``); with a sandbox time scale above 1 its tokens expire sooner, so clear that cache or keep the scale at 1.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sp_api.auth import AccessTokenClient
from sp_api.base import Marketplaces


def access_token_client_class(token_url: str) -> type:
    """An ``AccessTokenClient`` subclass that asks ``token_url`` (any scheme, host, port and path) for tokens."""

    parts = urlsplit(token_url)
    return type("OverriddenAccessTokenClient", (AccessTokenClient,),
                {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"})


def sp_api_credentials(credentials: dict[str, Any]) -> dict[str, str]:
    """Our credential names (client_id, client_secret, refresh_token) as ``sp_api`` wants them."""
    return {"refresh_token": credentials["refresh_token"], "lwa_app_id": credentials["client_id"],
            "lwa_client_secret": credentials["client_secret"]}


def sp_api_client(api_class: type, *, endpoint: str, token_url: str, credentials: dict[str, Any],
                  marketplace: Any = None, **kwargs: Any) -> Any:
    """An instance of an ``sp_api`` API class (``OrdersV0``, ``Feeds``, ``Orders(version=...)``...) that talks to
    ``endpoint`` and gets its LWA tokens from ``token_url``."""

    client = api_class(marketplace or Marketplaces.US, credentials=sp_api_credentials(credentials),
                       auth_token_client_class=access_token_client_class(token_url), **kwargs)
    client.endpoint = endpoint.rstrip("/")
    return client
