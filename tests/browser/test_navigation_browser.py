"""A page's address as the first request to a freshly started server (a bookmark): Streamlit's older
multipage mode for a `pages/` folder would run the page's script on its own; the app's navigation
must still be the one that runs it, with the address's query parameters."""

from tests.support.servers import start_app, stop


def test_a_bookmarked_page_on_a_fresh_server_runs_inside_the_app(page, tmp_path, screenshots):
    process, url = start_app(tmp_path)
    try:
        page.goto(f"{url}/train?job=gone")
        page.get_by_role("heading", name="Train").wait_for(timeout=120_000)
        page.get_by_text("no longer on the server").wait_for(timeout=60_000)  # the query parameter came along
        page.screenshot(path=str(screenshots / "bookmarked-train.png"))
        menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
        lines = {line.strip() for line in menu.splitlines()}  # titles and their icons' names
        assert {"Upload", "Live", "Train"} <= lines and not {"shared", "streamlit app", "upload"} & lines
        assert page.url.endswith("/train?job=gone")
    finally:
        stop(process)
