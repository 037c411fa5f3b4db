"""Live page: the webcam streams to the server (streamlit-webrtc); every frame is classified and comes
back with the skeleton and the exercise drawn on it.

The work is `wpa.serving.live.LiveSession`, one per browser session, kept in st.session_state; its
`process_frame` runs in streamlit-webrtc's thread and never touches `st`. The panel beside the
video reads the session's readings and the running repetition count in a fragment that redraws
itself twice a second; the last 30 s as a chart and the sets log in one that redraws every
TIMELINE_EVERY_S. Building a Plotly figure is Python work in the server's process, where the
streams' frames wait for the interpreter lock behind it (docs/BENCHMARKS.md, "Several live
streams"), so the chart is not rebuilt more often than a person reads it.

Beyond localhost (`app/serving.py`, `wpa.serving`): the browser and the server get the same ICE
servers, with this session's short-lived TURN credentials; the relay is checked when the page opens,
and a stream that does not connect says why instead of spinning (`app/live_connection.py`).
"""

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from wpa.errors import WpaError
from wpa.media.charts import live_timeline_figure
from wpa.movement.form.feedback import cached_form_references
from wpa.movement.sets import sets_csv
from wpa.recognition.inference import NO_PERSON, SMOOTHING_HELP, UNKNOWN, readable
from wpa.serving import turn
from wpa.serving.live import LiveReading, LiveSession, LiveSettings, LiveStats

from app.live_connection import connection_status, relay_problem
from app.serving import guard_page, serving_settings, turn_credentials
from app.shared import choose_model, inside_the_app, shared_model, unsure_below

inside_the_app(__file__)

# The longest side of the camera's picture. Only a most, never a shape: the browser scales the
# camera's own picture down (a phone's portrait stays portrait), where a width and a height would
# have it cropped to their shape.
RESOLUTIONS = {"320 px": 320, "640 px": 640, "1280 px": 1280}
CAMERAS = {"Front": "user", "Back": "environment"}  # getUserMedia's facingMode
# The video fills the column's width, whole (never cropped: "contain"), inline on a phone's screen, and
# low enough that START and STOP stay on a phone's first screen, under the thumb (pixels: inside the
# component's frame "vh" would be the frame's own height).
VIDEO_ATTRS = {"autoPlay": True, "playsInline": True, "muted": True, "controls": False,
               "style": {"width": "100%", "maxHeight": "480px", "objectFit": "contain", "background": "#111"}}


TIMELINE_EVERY_S = 2.0


@st.fragment(run_every=0.5)
def readings_panel(session: LiveSession) -> None:
    """The current exercise, its repetitions and the top classes, from the session's readings."""
    latest, stats = session.latest(), session.stats()
    if latest is None:
        st.info("Press **START** and allow the camera. Stand back so your whole body is in the picture.")
    else:
        current_reading(latest, stats)


@st.fragment(run_every=TIMELINE_EVERY_S)
def timeline_panel(session: LiveSession, labels: tuple[str, ...]) -> None:
    """The last 30 s of readings as a chart, then the sets log."""
    latest = session.latest()
    if latest is not None:
        st.plotly_chart(live_timeline_figure(session.history(), labels, latest.time_s), key="live-timeline")
    sets_log(session)


def current_reading(latest: LiveReading, stats: LiveStats) -> None:
    exercise, reps = st.columns(2)
    with exercise:
        exercise_metric(latest)
    current = latest.set  # the reading the last frame was drawn from: the video and this agree
    with reps:
        if current is None:
            st.metric("Reps", 0, "waiting for an exercise", delta_color="off", delta_arrow="off")
        else:
            st.metric("Reps", current.reps, f"{readable(current.exercise)} · {current.duration_s:.0f} s",
                      delta_color="off", delta_arrow="off")
    if latest.cue:  # a header, large: read from two metres away
        with st.container(key="form-cue"):
            st.header(latest.cue, anchor=False)
    for label, probability in latest.top:
        st.progress(min(max(probability, 0.0), 1.0), text=f"{readable(label)} · {probability:.0%}")
    st.caption(f"{stats.frames} frames classified · {stats.frames_per_second:.1f} frames/s · "
               f"{stats.median_ms:.0f} ms a frame (95% under {stats.p95_ms:.0f} ms)")


def exercise_metric(latest: LiveReading) -> None:
    if latest.label == NO_PERSON:
        st.metric("Exercise", "nobody visible")
    elif latest.label == UNKNOWN:
        st.metric("Exercise", "unsure", f"most like {readable(latest.top[0][0])}" if latest.top else None,
                  delta_color="off", delta_arrow="off")
    else:
        st.metric("Exercise", readable(latest.label), f"{latest.confidence:.0%} confident", delta_color="off",
                  delta_arrow="off")


def sets_log(session: LiveSession) -> None:
    """The sets done in this browser session, a CSV of them and a reset button."""
    st.subheader("Sets")
    sets = session.sets()
    if sets:
        st.dataframe([{"exercise": readable(done.exercise), "reps": done.reps,
                       "started": done.started_at.strftime("%H:%M:%S"), "duration (s)": done.duration_s}
                      for done in reversed(sets)], hide_index=True, key="live-sets")
    else:
        st.caption("A set is logged when the exercise changes, you leave the picture for a few seconds, "
                   "or the stream stops.")
    download, reset = st.columns(2)
    download.download_button("Sets (CSV)", sets_csv(sets), file_name="sets.csv", mime="text/csv",
                             disabled=not sets, key="live-sets-csv")
    # on_click: the reset happens before the panel is drawn again, so it shows the cleared log at once.
    reset.button("Reset count and sets", on_click=session.reset_sets, key="live-sets-reset")


def camera_choice() -> str:
    """Front or back camera (a phone's); the facingMode the browser is asked for."""
    chosen = st.segmented_control("Camera", list(CAMERAS), default="Front", key="live_camera",
                                  help="On a phone: Front films you from the screen's side, Back from the other.")
    return CAMERAS[chosen or "Front"]


def stream_constraints(resolution: str, frame_rate: int, facing: str) -> dict:
    longest = RESOLUTIONS[resolution]
    return {"audio": False, "video": {"width": {"max": longest}, "height": {"max": longest},
                                      "frameRate": {"ideal": frame_rate, "max": frame_rate},
                                      "facingMode": {"ideal": facing}}}


st.title("Live")
serving = serving_settings()
guard_page(serving, "Live")
check = relay_problem(serving)
entry = choose_model(key="live_model")
video, panel = st.columns([3, 2])
with video:
    facing = camera_choice()
with st.sidebar.expander("Settings", expanded=True):
    min_confidence = unsure_below(entry)
    smoothing = st.slider("Smoothing (seconds)", 0.0, 2.0, LiveSettings().smoothing_s, 0.1, help=SMOOTHING_HELP)
    mirror = st.checkbox("Mirror view", LiveSettings().mirror_view and facing == CAMERAS["Front"])
    resolution = st.selectbox("Camera resolution (longest side)", list(RESOLUTIONS), index=1,
                              help="640 px: 640 × 480 from most webcams, 360 × 640 from a phone held upright.")
    frame_rate = st.select_slider("Most frames a second", [10, 15, 20, 24, 30], value=15,
                                  help="A two-core server keeps up with about 15 to 30 frames a second at 640 × 480; "
                                       "frames that arrive while one is processed are dropped, never queued.")
settings = LiveSettings(min_confidence=min_confidence, smoothing_s=smoothing, mirror_view=mirror)

try:
    model = shared_model(entry)
except WpaError as error:
    st.error(str(error))
    st.stop()
session = st.session_state.get("live_session")
if session is None:
    session = st.session_state.live_session = LiveSession(model, settings)
session.update(model, settings, cached_form_references(entry.path))

with video:
    credentials = turn_credentials(serving)
    context = webrtc_streamer(
        key="live",
        mode=WebRtcMode.SENDRECV,
        # The browser and aiortc get the same servers; only the browser takes the relay-only policy.
        rtc_configuration=turn.browser_configuration(serving, credentials),
        server_rtc_configuration={"iceServers": turn.ice_servers(serving, credentials)},
        media_stream_constraints=stream_constraints(resolution, frame_rate, facing),
        video_html_attrs=VIDEO_ATTRS,
        video_frame_callback=session.process_frame,
        on_video_ended=session.close,
        async_processing=True,  # only the newest frame waits: no growing lag
    )
    # Warm up before the first START, so its first frames are not frozen. Not again after a stream
    # has ended: a landmarker holds about 80 MB, and a page left open (or closed: Streamlit keeps a
    # session two minutes) would keep one for nothing. A later START makes one on its first frame.
    if not context.state.playing and not session.ready and not session.streams_ended:
        session.prepare()
    connection_status(context, serving, check)
    with st.expander("The video does not start?"):
        st.markdown(
            "- **NotAllowedError** over the video: the camera was refused. Allow it in the browser's site "
            "settings (the icon left of the address), then START again.\n"
            "- **NotFoundError** / **NotReadableError**: no camera, or another app or tab is using it.\n"
            "- The browser only gives the camera to pages served over **HTTPS** or from **localhost** "
            "(README, \"Use it from your phone\").\n"
            "- On a remote server the browser may not reach it directly: a **TURN** relay is needed "
            "(`WPA_TURN_URLS` and `WPA_TURN_SECRET`; `make turn` starts one).")
with panel:
    readings_panel(session)
    timeline_panel(session, model.labels)
