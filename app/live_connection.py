"""The Live page's connection, said in words: the relay's check when the page opens, and a stream
that was offered but is not playing within CONNECT_TIMEOUT_S (or has given up) as an error saying
why and what to do, never an endless spinner.

streamlit-webrtc tells the server only whether the browser has offered a stream (signalling) and
whether it plays; what failed is told from the relay's check (`wpa.serving.turn.check_relay`) and
the settings. A camera the browser refuses never reaches the server: the component itself says
NotAllowedError, and the Live page's help says what to do.
"""

import time

import streamlit as st

from wpa.serving.turn import RelayCheck
from wpa.settings import ServingSettings

from app.serving import relay_check

CONNECT_TIMEOUT_S = 8.0  # a stream not playing this long after START has failed to connect
_ATTEMPT = "live_connection_attempt"  # session_state: [started at, played] of the stream being set up
_FAILED = "live_connection_failed"  # session_state: the last attempt ended without ever playing


def relay_problem(serving: ServingSettings) -> RelayCheck | None:
    """The relay's check, shown as an error when it failed (before START: the stream would fail)."""
    check = relay_check(serving)
    if check is not None and not check.ok:
        st.error(check.message, icon=":material/wifi_off:")
    return check


def track_attempt(playing: bool, signalling: bool) -> float | None:
    """Follow the stream being set up: returns when it started while it is connecting (None
    otherwise), and remembers an attempt that ended without ever playing."""
    attempt = st.session_state.get(_ATTEMPT)
    if playing or signalling:
        if attempt is None:
            attempt = st.session_state[_ATTEMPT] = [time.time(), False]
            st.session_state[_FAILED] = False
        attempt[1] = attempt[1] or playing
        return None if playing else attempt[0]
    if attempt is not None:
        st.session_state[_FAILED] = not attempt[1]
        del st.session_state[_ATTEMPT]
    return None


def connection_failure(serving: ServingSettings, check: RelayCheck | None) -> str:
    """Why a stream did not connect, and what to do, as far as the server can tell."""
    if check is not None and not check.ok:
        return "The video could not connect through the relay. " + check.message
    advice = ("The relay answered, so the browser could not reach it or this server: open the relay's ports "
              "(3478 and the relay range, deploy/turnserver.conf) to the internet." if serving.uses_turn else
              "No TURN relay is set: across networks (a phone on mobile data) the browser cannot reach this "
              "server directly. Set one up: README, \"Use it from your phone\".")
    return (f"The video did not connect within {CONNECT_TIMEOUT_S:.0f} s: no route between the browser and the "
            "server. " + advice + " Then STOP and START again.")


@st.fragment(run_every=1.0)
def connection_watch(started: float, serving: ServingSettings, check: RelayCheck | None) -> None:
    """While a stream is being set up: after CONNECT_TIMEOUT_S, say it failed and why."""
    waited = time.time() - started
    # Relay only, and the relay refuses this server's credentials: the browser's are refused too.
    hopeless = serving.relay_only and check is not None and not check.ok
    if hopeless or waited >= CONNECT_TIMEOUT_S:
        st.error(connection_failure(serving, check), icon=":material/wifi_off:")
    else:
        st.caption(f"Connecting… ({waited:.0f} s)")


def connection_status(context, serving: ServingSettings, check: RelayCheck | None) -> None:
    """A failing or failed connection, said in words; nothing once the stream plays."""
    started = track_attempt(context.state.playing, context.state.signalling)
    if started is not None:
        connection_watch(started, serving, check)
    elif st.session_state.get(_FAILED):
        st.error(connection_failure(serving, check), icon=":material/wifi_off:")
