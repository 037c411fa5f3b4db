"""Short-lived TURN credentials, the WebRTC configuration built from them, and a check of the relay.

coturn's REST-API scheme (`use-auth-secret` with `static-auth-secret`): the username is
"EXPIRY:NAME" (EXPIRY in Unix seconds), the password base64(HMAC-SHA1(secret, username)). coturn
recomputes it from the same secret and refuses it after EXPIRY, so what a page hands its browser
is worth nothing to anyone an hour later, and the secret itself never leaves the server.

    python -m wpa.serving.turn      # allocate a relay with the app's settings, say what happened
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import sys
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from wpa.background import Background
from wpa.errors import SettingsError
from wpa.settings import ServingSettings, current

CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TurnCredentials:
    username: str  # "EXPIRY:NAME"
    password: str
    expires_at: float  # Unix seconds


@dataclass(frozen=True)
class RelayCheck:
    """What one TURN allocation with the app's credentials gave."""

    ok: bool
    problem: str = ""  # "", "refused" (credentials) or "unreachable" (no answer, no route)
    message: str = ""  # for a person: what happened and what to do


def make_credentials(secret: str, lifetime_s: int, name: str | None = None, now: float | None = None
                     ) -> TurnCredentials:
    """Credentials valid for `lifetime_s` from `now`, for a user called `name` (random by default)."""
    expires_at = int((time.time() if now is None else now) + lifetime_s)
    username = f"{expires_at}:{name or 'wpa-' + secrets.token_hex(4)}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode(), float(expires_at))


def ice_servers(settings: ServingSettings, credentials: TurnCredentials | None) -> list[dict]:
    """The RTCIceServer list, the same for the browser and for the server's side (aiortc)."""
    servers = settings.extra_ice_servers()
    if settings.uses_turn and credentials is not None:
        servers.append({"urls": list(settings.turn_urls), "username": credentials.username,
                        "credential": credentials.password})
    return servers


def browser_configuration(settings: ServingSettings, credentials: TurnCredentials | None) -> dict:
    """The browser's RTCConfiguration: the ICE servers, and "relay" as the transport policy when the
    settings say relay only."""
    configuration: dict = {"iceServers": ice_servers(settings, credentials)}
    if settings.relay_only:
        configuration["iceTransportPolicy"] = "relay"
    return configuration


def check_relay(settings: ServingSettings, credentials: TurnCredentials,
                timeout_s: float = CHECK_TIMEOUT_S) -> RelayCheck:
    """Ask the first TURN server for a relay with `credentials`, as a browser would. Blocks for at
    most `timeout_s`."""
    url = settings.turn_urls[0]
    host, port, transport = _address(url)
    try:
        # A thread of its own, so the check runs whether or not the caller's thread has an event loop.
        allocation = asyncio.wait_for(_allocate(host, port, transport, credentials, url.startswith("turns:")), timeout_s)
        Background(lambda: asyncio.run(allocation), name="wpa-relay-check").start().result()
    except asyncio.TimeoutError:
        return RelayCheck(False, "unreachable", f"The TURN server {url} did not answer within {timeout_s:.0f} s: "
                          "start it (`make turn`), check the address in WPA_TURN_URLS, and open its port "
                          f"({port}, {transport.upper()}) in the firewall.")
    except OSError as error:
        return RelayCheck(False, "unreachable", f"No route to the TURN server {url} ({error}): check the address "
                          "in WPA_TURN_URLS and that the server is running (`make turn`).")
    except Exception as error:  # aioice reports a refusal as a failed STUN transaction
        if "401" in str(error) or "Unauthorized" in str(error):
            return RelayCheck(False, "refused", f"The TURN server {url} refused the credentials: WPA_TURN_SECRET "
                              "is not the static-auth-secret of its turnserver.conf. Set the same secret in both.")
        return RelayCheck(False, "refused", f"The TURN server {url} refused a relay ({error}): see its log.")
    return RelayCheck(True, "", f"The TURN server {url} gave a relay with these credentials.")


async def _allocate(host: str, port: int, transport: str, credentials: TurnCredentials, tls: bool) -> None:
    from aioice import turn  # aiortc's ICE library; imported here so settings alone need none of it

    relay, _ = await turn.create_turn_endpoint(asyncio.DatagramProtocol, server_addr=(host, port),
                                               username=credentials.username, password=credentials.password,
                                               transport=transport, ssl=tls or None)
    relay.close()


def _address(url: str) -> tuple[str, int, str]:
    """host, port and transport of a TURN URL (turn:HOST[:PORT][?transport=udp|tcp]; turns: is TLS
    over TCP, on port 5349 by default)."""
    parts = urlsplit(url)
    tls = parts.scheme == "turns"
    hostport = parts.path or parts.netloc
    if hostport.startswith("["):  # an IPv6 address: [::1]:3478
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    transport = "tcp" if tls else parse_qs(parts.query).get("transport", ["udp"])[0].lower()
    return host, int(port or (5349 if tls else 3478)), transport


def main() -> int:
    try:
        settings = current().serving
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if not settings.uses_turn:
        print("No TURN server is set (WPA_TURN_URLS, WPA_TURN_SECRET): nothing to check.", file=sys.stderr)
        return 2
    result = check_relay(settings, make_credentials(settings.turn_secret, settings.turn_credential_lifetime_s))
    print(result.message)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
