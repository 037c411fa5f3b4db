"""What the pages share about being served beyond localhost: the settings (environment and
`.streamlit/secrets.toml`), the sign-in, and the Live page's TURN credentials and relay check.

The work is in `wpa.serving`; here only what needs Streamlit: reading st.secrets, the session's
state, and the sign-in form.
"""

import time

import streamlit as st

from wpa.errors import SettingsError
from wpa.serving.access import password_matches, sign_in_token
from wpa.serving.turn import RelayCheck, TurnCredentials, check_relay, make_credentials
from wpa.settings import ServingSettings, Settings, with_secrets


_SIGNED_IN = "wpa_signed_in"  # session_state: the token of the password this session signed in with
_CREDENTIALS = "wpa_turn_credentials"  # session_state: this session's TURN credentials


def _secrets_table() -> dict:
    """secrets.toml's [wpa] table; empty when there is no secrets file (local use)."""
    try:
        return dict(st.secrets.get("wpa", {}))
    except Exception:  # no secrets.toml at all: Streamlit raises rather than return nothing
        return {}


def app_settings() -> Settings:
    """wpa's settings (the environment, read once by wpa.settings, and secrets.toml's [wpa] table,
    which Streamlit reads again when it changes), or a message saying what is wrong in them and the
    page stopped."""
    try:
        return with_secrets(_secrets_table())
    except SettingsError as error:
        st.error(str(error))
        st.stop()


def serving_settings() -> ServingSettings:
    return app_settings().serving


# --- sign-in ----------------------------------------------------------------------------------

def signed_in(settings: ServingSettings) -> bool:
    """True when this session may change things: no password is set, or it signed in with it."""
    if not settings.sign_in_required:
        return True
    return st.session_state.get(_SIGNED_IN) == sign_in_token(settings.password)


def sign_in_form(settings: ServingSettings, why: str) -> None:
    """A password form saying `why` one signs in, and how to get the password."""
    st.info(f":material/lock: {why} Sign in with the server's password (the `password` of "
            "`.streamlit/secrets.toml`'s `[wpa]` table, or `WPA_PASSWORD`); ask whoever runs this server for it.")
    with st.form("sign-in"):
        attempt = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", icon=":material/login:"):
            if password_matches(settings.password, attempt):
                st.session_state[_SIGNED_IN] = sign_in_token(settings.password)
                st.rerun()
            time.sleep(1.0)  # a wrong guess costs a second: guessing is slow
            st.error("That is not the password.")


def sign_out_button(settings: ServingSettings) -> None:
    if settings.sign_in_required and signed_in(settings):
        if st.sidebar.button("Sign out", icon=":material/logout:", key="sign_out"):
            st.session_state.pop(_SIGNED_IN, None)
            st.rerun()


def guard_page(settings: ServingSettings, page: str) -> None:
    """Upload and Live: behind the sign-in when the settings say everything is."""
    if settings.sign_in_for == "everything" and not signed_in(settings):
        sign_in_form(settings, f"The {page} page of this server is for signed-in users.")
        st.stop()
    sign_out_button(settings)


# --- the relay ----------------------------------------------------------------------------------

def turn_credentials(settings: ServingSettings) -> TurnCredentials | None:
    """This session's TURN credentials, made again when half their lifetime is gone (a page left
    open gets fresh ones on its next run; the same ones otherwise, so the stream is not set up again)."""
    if not settings.uses_turn:
        return None
    held = st.session_state.get(_CREDENTIALS)
    if held is None or held.expires_at - time.time() < settings.turn_credential_lifetime_s / 2:
        held = st.session_state[_CREDENTIALS] = make_credentials(settings.turn_secret,
                                                                 settings.turn_credential_lifetime_s)
    return held


@st.cache_data(ttl=60, show_spinner="Checking the TURN relay…")
def _relay_check(urls: tuple[str, ...], secret: str, lifetime_s: int) -> RelayCheck:
    settings = ServingSettings(turn_urls=urls, turn_secret=secret, turn_credential_lifetime_s=lifetime_s)
    return check_relay(settings, make_credentials(secret, lifetime_s, name="wpa-check"))


def relay_check(settings: ServingSettings) -> RelayCheck | None:
    """Whether the relay gives this server a relay with credentials from its secret (checked at
    most once a minute); None without a relay."""
    if not settings.uses_turn:
        return None
    return _relay_check(settings.turn_urls, settings.turn_secret, settings.turn_credential_lifetime_s)
