"""How the app is served beyond localhost: its TURN relay and who may change what.

One frozen record, `ServingSettings`, read once per page run from the environment and from the
`[wpa]` table of `.streamlit/secrets.toml` (the page reads that file and passes the table in: wpa
never imports streamlit). The environment wins over the file. Every value is checked when read:
`read_settings` raises one `SettingsError` listing each problem and how to fix it, so a wrong
setting is a message on the page, never a connection that spins forever.

    environment                      secrets.toml [wpa]          meaning
    WPA_TURN_URLS                    turn_urls                   TURN server address(es), comma-separated
    WPA_TURN_SECRET                  turn_secret                 coturn's static-auth-secret
    WPA_TURN_CREDENTIAL_LIFETIME_S   turn_credential_lifetime_s  how long a browser's credentials last
    WPA_RELAY_ONLY                   relay_only                  the browser sends through the relay only
    WPA_ICE_SERVERS                  ice_servers                 more STUN/TURN servers (JSON list)
    WPA_PASSWORD                     password                    the password that unlocks changes
    WPA_SIGN_IN_FOR                  sign_in_for                 "changes" (default) or "everything"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wpa.errors import WpaError

DEFAULT_CREDENTIAL_LIFETIME_S = 3600  # a page left open an hour asks for new credentials on its next run
SIGN_IN_SCOPES = ("changes", "everything")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class SettingsError(WpaError):
    """A serving setting is missing, malformed or contradicts another."""


@dataclass(frozen=True)
class ServingSettings:
    """Where the browser's WebRTC traffic may go, and who may change the server."""

    turn_urls: tuple[str, ...] = ()  # e.g. ("turn:turn.example.org:3478?transport=udp",)
    turn_secret: str = ""  # shared with coturn (use-auth-secret / static-auth-secret)
    turn_credential_lifetime_s: int = DEFAULT_CREDENTIAL_LIFETIME_S
    relay_only: bool = False  # the browser's iceTransportPolicy is "relay"
    ice_servers: str = "[]"  # more RTCIceServer objects, as JSON (kept as text: the record stays hashable)
    password: str = ""  # empty: everyone may change everything (local use)
    sign_in_for: str = "changes"  # "changes": Train's writes; "everything": Upload and Live too

    @property
    def uses_turn(self) -> bool:
        return bool(self.turn_urls)

    @property
    def sign_in_required(self) -> bool:
        return bool(self.password)

    def extra_ice_servers(self) -> list[dict]:
        return json.loads(self.ice_servers)


_FIELDS = {  # field name: environment variable
    "turn_urls": "WPA_TURN_URLS",
    "turn_secret": "WPA_TURN_SECRET",
    "turn_credential_lifetime_s": "WPA_TURN_CREDENTIAL_LIFETIME_S",
    "relay_only": "WPA_RELAY_ONLY",
    "ice_servers": "WPA_ICE_SERVERS",
    "password": "WPA_PASSWORD",
    "sign_in_for": "WPA_SIGN_IN_FOR",
}


def read_settings(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> ServingSettings:
    """The settings from `environ` (os.environ) over `secrets` (secrets.toml's [wpa] table).
    Raises SettingsError naming every problem."""
    secrets = secrets or {}
    raw = {name: environ[variable] if environ.get(variable, "") != "" else secrets.get(name)
           for name, variable in _FIELDS.items()}
    problems: list[str] = []
    values: dict[str, Any] = {}
    values["turn_urls"] = _urls(raw["turn_urls"], problems)
    values["turn_secret"] = str(raw["turn_secret"] or "")
    values["turn_credential_lifetime_s"] = _lifetime(raw["turn_credential_lifetime_s"], problems)
    values["relay_only"] = _flag(raw["relay_only"], "WPA_RELAY_ONLY", problems)
    values["ice_servers"] = _ice_servers(raw["ice_servers"], problems)
    values["password"] = str(raw["password"] or "")
    values["sign_in_for"] = str(raw["sign_in_for"] or "changes").strip().lower()
    if values["sign_in_for"] not in SIGN_IN_SCOPES:
        problems.append(f"WPA_SIGN_IN_FOR is '{values['sign_in_for']}': use 'changes' (sign in to train or "
                        "change models) or 'everything' (Upload and Live too).")
    if values["turn_urls"] and not values["turn_secret"]:
        problems.append("WPA_TURN_URLS is set but WPA_TURN_SECRET is not: set it to coturn's static-auth-secret "
                        "(deploy/turnserver.conf), so the app can make short-lived credentials.")
    if values["turn_secret"] and not values["turn_urls"]:
        problems.append("WPA_TURN_SECRET is set but WPA_TURN_URLS is not: set it to the relay's address, "
                        "e.g. turn:YOUR-HOST:3478.")
    if values["relay_only"] and not values["turn_urls"]:
        problems.append("WPA_RELAY_ONLY is on but no TURN server is set (WPA_TURN_URLS): the browser would "
                        "have no way to send its video.")
    if problems:
        raise SettingsError("The app's serving settings (environment or .streamlit/secrets.toml [wpa]) are "
                            "wrong:\n- " + "\n- ".join(problems))
    return ServingSettings(**values)


def _urls(value: Any, problems: list[str]) -> tuple[str, ...]:
    if not value:
        return ()
    urls = tuple(u.strip() for u in (value.split(",") if isinstance(value, str) else value) if str(u).strip())
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            problems.append(f"WPA_TURN_URLS holds '{url}': each address starts with turn: or turns:, "
                            "e.g. turn:turn.example.org:3478.")
    return urls


def _lifetime(value: Any, problems: list[str]) -> int:
    if value in (None, ""):
        return DEFAULT_CREDENTIAL_LIFETIME_S
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = 0
    if not 60 <= seconds <= 7 * 24 * 3600:
        problems.append(f"WPA_TURN_CREDENTIAL_LIFETIME_S is '{value}': give seconds between 60 and 604800.")
        return DEFAULT_CREDENTIAL_LIFETIME_S
    return seconds


def _flag(value: Any, variable: str, problems: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text not in _TRUE + _FALSE:
        problems.append(f"{variable} is '{value}': use 1 or 0.")
        return False
    return text in _TRUE


def _ice_servers(value: Any, problems: list[str]) -> str:
    if value in (None, ""):
        return "[]"
    try:
        servers = json.loads(value) if isinstance(value, str) else list(value)
    except (ValueError, TypeError):
        servers = None
    if not isinstance(servers, list) or not all(isinstance(s, Mapping) and "urls" in s for s in servers):
        problems.append("WPA_ICE_SERVERS is not a JSON list of ICE servers: write e.g. "
                        '[{"urls": "stun:stun.example.org:3478"}].')
        return "[]"
    return json.dumps([dict(s) for s in servers])
