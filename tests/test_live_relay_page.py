"""The Live page's relay settings through AppTest (streamlit-webrtc replaced by the recorder of
tests/test_app.py): the browser and the server get the same ICE servers with this session's
short-lived credentials, relay only where asked, and a relay that does not answer is said on the page."""

import base64
import hashlib
import hmac
import time
from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from tests.support.data import REPO
from tests.support.servers import free_port


def test_the_live_page_hands_out_short_lived_credentials_and_says_the_relay_is_down(webrtc_calls,  # noqa: F811
                                                                                   monkeypatch):
    url = f"turn:127.0.0.1:{free_port()}"
    monkeypatch.setenv("WPA_TURN_URLS", url)
    monkeypatch.setenv("WPA_TURN_SECRET", "shared-with-coturn")
    monkeypatch.setenv("WPA_TURN_CREDENTIAL_LIFETIME_S", "600")
    monkeypatch.setenv("WPA_RELAY_ONLY", "1")
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    at.switch_page("pages/live.py").run()
    assert not at.exception
    options = webrtc_calls[-1]
    browser, server = options["rtc_configuration"], options["server_rtc_configuration"]
    assert browser["iceTransportPolicy"] == "relay" and server["iceServers"] == browser["iceServers"]
    turn = browser["iceServers"][-1]
    assert turn["urls"] == [url] and "shared-with-coturn" not in str(browser)
    expiry, _ = turn["username"].split(":")
    assert 590 <= int(expiry) - time.time() <= 600
    expected = hmac.new(b"shared-with-coturn", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    assert any("did not answer" in error.value or "No route" in error.value for error in at.error)

    at.run()  # the same session keeps its credentials: the stream is not set up again
    assert webrtc_calls[-1]["rtc_configuration"] == browser
    at.session_state["live_session"].close()


def test_a_stream_that_does_not_connect_says_so_instead_of_spinning(monkeypatch):
    """The stream's state as streamlit-webrtc reports it: offered (signalling) but never playing for
    longer than CONNECT_TIMEOUT_S is a failure said in words, and it stays said once the browser gives up."""
    import streamlit_webrtc

    state = SimpleNamespace(playing=False, signalling=False)
    monkeypatch.setattr(streamlit_webrtc, "webrtc_streamer", lambda **options: SimpleNamespace(state=state))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180).run()
    at.switch_page("pages/live.py").run()
    assert not at.exception and not at.error

    state.signalling = True  # START: the offer went to the server
    at.run()
    assert any("Connecting" in caption.value for caption in at.caption) and not at.error
    at.session_state["live_connection_attempt"][0] -= 10  # ten seconds later, still not playing
    at.run()
    assert any("did not connect within 8 s" in error.value and "No TURN relay is set" in error.value
               for error in at.error), [error.value for error in at.error]

    state.signalling = False  # the browser gave up: the message stays until the next START
    at.run()
    assert any("did not connect" in error.value for error in at.error)

    state.signalling = state.playing = True  # the next START connects: no message
    at.run()
    assert not at.error
    at.session_state["live_session"].close()
