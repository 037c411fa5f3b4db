"""Who may change the server: one password, compared in constant time.

The session keeps a token of the password it signed in with, never the password: when the
password is changed in the settings, every session is signed out.
"""

from __future__ import annotations

import hashlib
import hmac


def password_matches(password: str, attempt: str | None) -> bool:
    """True when `attempt` is `password` (never for an empty password: that means no sign-in)."""
    if not password or attempt is None:
        return False
    return hmac.compare_digest(password.encode(), attempt.encode())


def sign_in_token(password: str) -> str:
    """What a signed-in session holds: changes when the password changes, and does not reveal it."""
    return hashlib.sha256(b"wpa-sign-in:" + password.encode()).hexdigest()
