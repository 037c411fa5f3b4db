"""Serving settings, TURN credentials and the WebRTC configuration made from them, the sign-in's
password check, and the relay check against a closed port (coturn itself: tests/browser)."""

import json

import pytest

from tests.support.servers import free_port
from wpa.errors import SettingsError
from wpa.serving.access import password_matches, sign_in_token
from wpa.serving.turn import _address, browser_configuration, check_relay, ice_servers, make_credentials
from wpa.settings import ServingSettings, read_settings


def test_no_settings_is_local_use_open_and_direct():
    settings = read_settings({}, None).serving
    assert settings == ServingSettings()
    assert not settings.uses_turn and not settings.sign_in_required
    assert browser_configuration(settings, None) == {"iceServers": []}


def test_the_environment_wins_over_the_secrets_file():
    secrets = {"turn_urls": ["turn:a.example:3478"], "turn_secret": "from-file", "password": "pw",
               "relay_only": True, "sign_in_for": "everything"}
    settings = read_settings({"WPA_TURN_SECRET": "from-env", "WPA_TURN_CREDENTIAL_LIFETIME_S": "600"}, secrets).serving
    assert settings.turn_urls == ("turn:a.example:3478",) and settings.turn_secret == "from-env"
    assert settings.turn_credential_lifetime_s == 600 and settings.relay_only and settings.password == "pw"
    assert settings.sign_in_for == "everything"
    both = read_settings({"WPA_TURN_URLS": "turn:a:3478?transport=udp, turn:a:3478?transport=tcp",
                          "WPA_TURN_SECRET": "s"}).serving
    assert both.turn_urls == ("turn:a:3478?transport=udp", "turn:a:3478?transport=tcp")


@pytest.mark.parametrize("environ, says", [
    ({"WPA_TURN_URLS": "turn:a:3478"}, "WPA_TURN_SECRET is not"),
    ({"WPA_TURN_SECRET": "s"}, "WPA_TURN_URLS is not"),
    ({"WPA_RELAY_ONLY": "1"}, "no TURN server"),
    ({"WPA_RELAY_ONLY": "maybe"}, "use 1 or 0"),
    ({"WPA_TURN_URLS": "http://a:3478", "WPA_TURN_SECRET": "s"}, "starts with turn:"),
    ({"WPA_TURN_URLS": "turn:a", "WPA_TURN_SECRET": "s", "WPA_TURN_CREDENTIAL_LIFETIME_S": "ten"}, "between 60"),
    ({"WPA_ICE_SERVERS": "{not json"}, "not a JSON list"),
    ({"WPA_SIGN_IN_FOR": "nobody"}, "'changes'"),
])
def test_a_wrong_setting_is_refused_with_what_to_do(environ, says):
    with pytest.raises(SettingsError, match=says):
        read_settings(environ).serving


def test_credentials_follow_coturns_rest_scheme():
    # base64(HMAC-SHA1("north-wind", "1700000000:alice")), from `openssl dgst -sha1 -hmac north-wind -binary`.
    credentials = make_credentials("north-wind", 3600, name="alice", now=1_700_000_000 - 3600)
    assert credentials.username == "1700000000:alice" and credentials.expires_at == 1_700_000_000
    assert credentials.password == "Oko4dt8u/EbTRjRUJWQDFm/zTCc="
    other = make_credentials("north-wind", 3600)
    assert other.username.split(":")[1] != make_credentials("north-wind", 3600).username.split(":")[1]


def test_browser_and_server_get_the_same_servers_and_only_the_browser_the_relay_policy():
    extra = [{"urls": "stun:stun.example.org:3478"}]
    settings = read_settings({"WPA_TURN_URLS": "turn:t.example:3478", "WPA_TURN_SECRET": "s",
                              "WPA_RELAY_ONLY": "1", "WPA_ICE_SERVERS": json.dumps(extra)}).serving
    credentials = make_credentials("s", 600, name="bob")
    servers = ice_servers(settings, credentials)
    assert servers == [*extra, {"urls": ["turn:t.example:3478"], "username": credentials.username,
                                "credential": credentials.password}]
    assert browser_configuration(settings, credentials) == {"iceServers": servers, "iceTransportPolicy": "relay"}
    assert all(server.get("credential") != "s" for server in servers)  # the secret itself never leaves


def test_a_relay_that_does_not_answer_is_reported_as_unreachable():
    settings = read_settings({"WPA_TURN_URLS": f"turn:127.0.0.1:{free_port()}", "WPA_TURN_SECRET": "s"}).serving
    result = check_relay(settings, make_credentials("s", 600), timeout_s=1.5)
    assert not result.ok and result.problem == "unreachable" and "make turn" in result.message


def test_the_password_check():
    assert password_matches("open sesame", "open sesame")
    assert not password_matches("open sesame", "open sesam") and not password_matches("open sesame", None)
    assert not password_matches("", "")  # no password set means no sign-in, never "signed in with nothing"
    assert sign_in_token("a") != sign_in_token("b") and sign_in_token("a") == sign_in_token("a")


@pytest.mark.parametrize("url, address", [
    ("turn:turn.example.org", ("turn.example.org", 3478, "udp")),
    ("turn:turn.example.org:3479?transport=tcp", ("turn.example.org", 3479, "tcp")),
    ("turn:[2001:db8::1]:3478?transport=udp", ("2001:db8::1", 3478, "udp")),
    ("turns:turn.example.org", ("turn.example.org", 5349, "tcp")),
])
def test_relay_addresses(url, address):
    assert _address(url) == address
