"""Serving the app beyond localhost: settings, TURN relay credentials and checks, and sign-in."""
