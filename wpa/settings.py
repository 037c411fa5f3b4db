"""wpa's settings: every `WPA_*` variable, read in one place, once, into one frozen record.

`read_settings(environ, secrets)` turns a mapping of variables (and, for the serving settings,
the `[wpa]` table of `.streamlit/secrets.toml`; the environment wins over it) into `Settings`,
checking every value: a bad one raises one `SettingsError` that names each variable, what it holds
and what it may hold. `current()` is that record for this process's environment, read on first
use (the CLI and the app call it at start, so a bad value stops them with the message); library
functions take what they need as parameters whose defaults come from it. No other module of wpa
reads the environment.

    variable                         secrets.toml [wpa]          meaning
    WPA_MODEL                                                    the exercise model used when none is chosen
    WPA_POSE_MODEL                                               the MediaPipe PoseLandmarker .task file
    WPA_LIVE_POSE_MODEL                                          the one Live runs (default: the shipped lite one)
    WPA_CACHE_DIR                                                what can be rebuilt: poses, annotated videos
    WPA_DATA_DIR                                                 what cannot: saved models, uploads, good form
    WPA_DATA_ROOTS                                               folders (':'-separated) the Train page offers
    WPA_ANNOTATED_CACHE_GB, WPA_POSE_CACHE_GB, WPA_UPLOADS_GB    size limits of the growing folders
    WPA_ANALYSIS_WORKERS                                         the most clips analysed at once
    WPA_RAY_ADDRESS                                              the Ray cluster the Train page extracts on
    WPA_NATIVE_LOGS                                              show MediaPipe's native start-up logs
    WPA_TURN_URLS                    turn_urls                   TURN server address(es), comma-separated
    WPA_TURN_SECRET                  turn_secret                 coturn's static-auth-secret
    WPA_TURN_CREDENTIAL_LIFETIME_S   turn_credential_lifetime_s  how long a browser's credentials last
    WPA_RELAY_ONLY                   relay_only                  the browser sends through the relay only
    WPA_ICE_SERVERS                  ice_servers                 more STUN/TURN servers (JSON list)
    WPA_PASSWORD                     password                    the password that unlocks changes
    WPA_SIGN_IN_FOR                  sign_in_for                 "changes" (default) or "everything"
"""

from __future__ import annotations

import functools
import json
import math
import os
import site
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wpa.errors import SettingsError

REPO_DIR = Path(__file__).resolve().parents[1]
GB = 1024**3  # as wpa.media.archive counts its limits
DEFAULT_CREDENTIAL_LIFETIME_S = 3600  # a page left open an hour asks for new credentials on its next run
SIGN_IN_SCOPES = ("changes", "everything")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class PathSettings:
    """Where wpa finds and keeps things."""

    model_dir: Path  # WPA_MODEL
    pose_model: Path  # WPA_POSE_MODEL
    # WPA_LIVE_POSE_MODEL: Live runs the lite model, a few milliseconds a frame lighter, which on
    # two cores answers sooner (docs/BENCHMARKS.md, "Live page"); clips keep the full one.
    live_pose_model: Path
    cache_dir: Path  # WPA_CACHE_DIR: things that can be rebuilt
    data_dir: Path  # WPA_DATA_DIR: things that cannot
    # WPA_DATA_ROOTS: folders on the server whose datasets the Train page may use; a path typed on
    # the page must lie inside one of them.
    data_roots: tuple[Path, ...]

    @property
    def pose_cache_dir(self) -> Path:
        return self.cache_dir / "poses"

    @property
    def annotated_cache_dir(self) -> Path:
        return self.cache_dir / "annotated"

    @property
    def user_models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


@dataclass(frozen=True)
class DiskLimits:
    """The most bytes each growing folder may hold (WPA_ANNOTATED_CACHE_GB, WPA_POSE_CACHE_GB, WPA_UPLOADS_GB)."""

    annotated_videos: int = 2 * GB
    poses: int = 5 * GB
    uploads: int = 10 * GB


# The environment variable (a number of GB) that sets each limit of DiskLimits.
LIMIT_VARIABLES = {"annotated_videos": "WPA_ANNOTATED_CACHE_GB", "poses": "WPA_POSE_CACHE_GB",
                   "uploads": "WPA_UPLOADS_GB"}


@dataclass(frozen=True)
class WorkerSettings:
    """Where heavy work runs."""

    analysis_workers: int | None = None  # WPA_ANALYSIS_WORKERS; None: one per core
    # WPA_RAY_ADDRESS: the Ray cluster the Train page extracts poses on (`auto`, or HOST:PORT of
    # its head; see wpa.poses.extraction.RayEngine); None: on this machine.
    ray_address: str | None = None


@dataclass(frozen=True)
class LogSettings:
    native_logs: bool = False  # WPA_NATIVE_LOGS: let MediaPipe's C++ core write its start-up chatter to stderr


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


@dataclass(frozen=True)
class Settings:
    """All of wpa's settings."""

    paths: PathSettings
    limits: DiskLimits = field(default_factory=DiskLimits)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)


_SERVING_FIELDS = {  # field name: environment variable
    "turn_urls": "WPA_TURN_URLS",
    "turn_secret": "WPA_TURN_SECRET",
    "turn_credential_lifetime_s": "WPA_TURN_CREDENTIAL_LIFETIME_S",
    "relay_only": "WPA_RELAY_ONLY",
    "ice_servers": "WPA_ICE_SERVERS",
    "password": "WPA_PASSWORD",
    "sign_in_for": "WPA_SIGN_IN_FOR",
}


def read_settings(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> Settings:
    """The settings from `environ` (os.environ) and, for serving, `secrets` (secrets.toml's [wpa]
    table; the environment wins). Raises SettingsError naming every problem."""
    problems: list[str] = []
    settings = Settings(paths=read_paths(environ), limits=_limits(environ, problems),
                        workers=_workers(environ, problems),
                        logs=LogSettings(native_logs=_flag(environ.get("WPA_NATIVE_LOGS"), "WPA_NATIVE_LOGS", problems)),
                        serving=_serving(environ, secrets or {}, problems))
    if problems:
        raise SettingsError("wpa's settings (environment, or .streamlit/secrets.toml's [wpa] table) are wrong:\n- "
                            + "\n- ".join(problems))
    return settings


@functools.cache
def current() -> Settings:
    """This process's settings, from its environment, read on first use and then kept."""
    return with_secrets({})


def with_secrets(secrets: Mapping[str, Any]) -> Settings:
    """This process's settings with the serving settings of a secrets.toml [wpa] table (the app's,
    which Streamlit reads again when the file changes)."""
    return replace(read_settings(_environment(), secrets), paths=current_paths())


@functools.cache
def current_paths() -> PathSettings:
    """This process's paths (wpa.paths names them for the modules that keep files), read once."""
    return read_paths(_environment())


def reread() -> None:
    """Read the environment again on the next use (for tests that change it). The paths stay as
    first read: modules have taken them as their defaults."""
    _environment.cache_clear()
    current.cache_clear()


@functools.cache
def _environment() -> dict[str, str]:
    """The process's WPA_* variables, read once."""
    return {name: value for name, value in os.environ.items() if name.startswith("WPA_")}


def worker_environment() -> dict[str, str]:
    """The environment for a `python -m wpa.…` worker process: this one's, with the folder that
    holds this wpa first on PYTHONPATH, so the worker runs the same code even from a checkout that
    is not installed (the app started with `streamlit run` from the repository)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))}


@functools.cache
def shipped_models_dir() -> Path:
    """The folder of the shipped models. In a checkout (and after `pip install -e .`) it is models/
    beside the package. A wheel cannot put files beside the package, so `pip install .` installs
    them as data files (pyproject.toml) under <prefix>/share/wpa/models: the environment's prefix,
    or the user base after `pip install --user`. A folder counts only if it holds the pose model."""
    candidates = [REPO_DIR / "models"] + [Path(prefix) / "share" / "wpa" / "models"
                                          for prefix in (sys.prefix, site.getuserbase())]
    return next((folder for folder in candidates if (folder / "pose_landmarker_full.task").is_file()), candidates[0])


def read_paths(environ: Mapping[str, str]) -> PathSettings:
    """The paths part of the settings (any text is a path, so it cannot be wrong)."""
    def path(variable: str, default: Path) -> Path:
        return Path(environ[variable]) if environ.get(variable) else default

    data_dir = path("WPA_DATA_DIR", Path.home() / ".local" / "share" / "wpa")
    roots = environ.get("WPA_DATA_ROOTS") or str(data_dir / "datasets")
    return PathSettings(model_dir=path("WPA_MODEL", shipped_models_dir() / "default"),
                        pose_model=path("WPA_POSE_MODEL", shipped_models_dir() / "pose_landmarker_full.task"),
                        live_pose_model=path("WPA_LIVE_POSE_MODEL", shipped_models_dir() / "pose_landmarker_lite.task"),
                        cache_dir=path("WPA_CACHE_DIR", Path.home() / ".cache" / "wpa"), data_dir=data_dir,
                        data_roots=tuple(Path(p) for p in roots.split(os.pathsep) if p))


def _limits(environ: Mapping[str, str], problems: list[str]) -> DiskLimits:
    values = {}
    for name, variable in LIMIT_VARIABLES.items():
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            problems.append(f"{variable} is '{text}', but it must be a number of gigabytes, 0 or more (for example "
                            f"{variable}=5 or {variable}=0.5). Fix or unset it and start wpa again.")
            continue
        values[name] = int(value * GB)
    return DiskLimits(**values)


def _workers(environ: Mapping[str, str], problems: list[str]) -> WorkerSettings:
    text = environ.get("WPA_ANALYSIS_WORKERS", "").strip()
    analysis = None
    if text:
        if text.isdigit() and int(text) >= 1:
            analysis = int(text)
        else:
            problems.append(f"WPA_ANALYSIS_WORKERS is {text!r}: set it to a whole number of at least 1 "
                            "(the most clips analysed at once), or unset it for one per core.")
    return WorkerSettings(analysis_workers=analysis, ray_address=environ.get("WPA_RAY_ADDRESS", "").strip() or None)


def _serving(environ: Mapping[str, str], secrets: Mapping[str, Any], problems: list[str]) -> ServingSettings:
    raw = {name: environ[variable] if environ.get(variable, "") != "" else secrets.get(name)
           for name, variable in _SERVING_FIELDS.items()}
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
