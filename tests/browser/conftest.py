"""Browser tests: a real CKAN server and Debian's headless Chromium.

One CKAN server (``ckan run`` on a free port, configured from test.ini) and
one browser serve the whole session; each test gets a fresh browser context
(pytest-playwright's ``page``). Requests to anything but the test server
(map tiles, CDNs) are aborted, so the pages are tested as they behave when
tile servers are down.

The tests skip with the reason when /usr/bin/chromium is missing (``make
test`` installs it from Debian when run as root), and the accessibility
checks skip when axe-core is missing from node_modules (``npm ci``).
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
import requests

from .sample_data import EVIL, EVIL_HOTSPOTS, HOTSPOTS, seed  # noqa: F401 - re-exported

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GELSENKIRCHEN_CHROMIUM", "/usr/bin/chromium")
AXE_JS = ROOT / "node_modules/axe-core/axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts/screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--headless"]


def _chromium_missing_reason() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        how = ("it could not be installed: see .run/chromium-install.log" if os.geteuid() == 0
               else "install it as root: apt-get install chromium")
        return f"{CHROMIUM} is missing ({how}); browser tests need Debian's Chromium"
    return None


# pytest-playwright: launch Debian's Chromium, never a downloaded browser.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "locale": "de-DE", "viewport": {"width": 1280, "height": 900}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_ini(port: int, directory: pathlib.Path) -> pathlib.Path:
    """test.ini, served on its own port with its own storage."""
    ini = directory / "browser-test.ini"
    ini.write_text(
        "[app:main]\n"
        f"use = config:{ROOT / 'test.ini'}\n"
        f"ckan.site_url = http://127.0.0.1:{port}\n"
        f"ckan.storage_path = {directory / 'storage'}\n"
        # figures must follow the data the tests create
        "ckanext.gelsenkirchen.home.cache_seconds = 0\n"
        # the sample datasets fill two pages: the pager is checked too
        "ckan.datasets_per_page = 3\n"
        # CKAN 2.10 and 2.11's CLI reads the logging sections of the ini it is
        # given (logging.config.fileConfig), not those of the one it uses
        "[loggers]\nkeys = root\n[handlers]\nkeys = console\n[formatters]\nkeys = generic\n"
        "[logger_root]\nlevel = WARNING\nhandlers = console\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\n"
        "formatter = generic\n"
        "[formatter_generic]\nformat = %%(asctime)s %%(levelname)s [%%(name)s] %%(message)s\n",
        encoding="utf-8")
    return ini


class LiveServer:
    def __init__(self, url: str, ini: pathlib.Path, process: subprocess.Popen) -> None:
        self.url, self.ini, self.process = url, ini, process
        self.token = ""

    def action(self, action_name: str, /, files: dict | None = None, **data: object) -> dict:
        headers = {"Authorization": self.token}
        if files:
            resp = requests.post(f"{self.url}/api/3/action/{action_name}", data=data, files=files,
                                 headers=headers, timeout=60)
        else:
            resp = requests.post(f"{self.url}/api/3/action/{action_name}", json=data, headers=headers,
                                 timeout=60)
        body = resp.json()
        if not body.get("success"):
            log = self.ini.with_name("server.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"{action_name}: {body.get('error')}\nserver log:\n{log}")
        return body["result"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A CKAN web server on a free port, configured as test.ini."""
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("live-server")
    port = _free_port()
    ini = _server_ini(port, directory)
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(
        [str(pathlib.Path(sys.executable).with_name("ckan")), "-c", str(ini), "run",
         "--host", "127.0.0.1", "--port", str(port), "--disable-reloader", "--threaded"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/3/action/status_show", timeout=2).read()
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                tail = (directory / "server.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"the test CKAN server did not start:\n{tail}")
            time.sleep(0.3)
    server = LiveServer(url, ini, process)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def page(page):
    """pytest-playwright's page, cut off from everything but the test server."""
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"),
                       lambda route: route.abort())
    return page


def screenshot(page, name: str, full_page: bool = True) -> pathlib.Path:
    """The page as test-artifacts/screenshots/<name>.png; ``full_page=False``:
    only the viewport (the images docs/ shows stay small)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_for_module(page, name: str) -> None:
    """Wait until CKAN has initialised the JavaScript module ``name`` (it
    registers an instance after ``initialize``): typing into a field before
    that, on a busy machine, is typing into a page without its behaviour."""
    page.wait_for_function(
        "name => (window.ckan && ckan.module.instances[name] || []).length > 0", arg=name)


def run_axe(page, name: str) -> dict:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) in the page; print what was checked."""
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is missing ({AXE_JS}): run `npm ci` (make test does)")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})""")
    checked = sorted({r["id"] for key in ("passes", "violations", "incomplete")
                      for r in result.get(key, [])})
    print(f"\naxe-core {result['testEngine']['version']} on {name}: "
          f"{len(checked)} rules checked: {', '.join(checked)}")
    for violation in result["violations"]:
        print(f"  {violation['impact']}: {violation['id']} ({len(violation['nodes'])} nodes) "
              f"{json.dumps([n['target'] for n in violation['nodes']][:3])}")
    return result


@pytest.fixture(scope="session")
def portal(live_server: LiveServer, reset_db, reset_index) -> dict:
    """Demo-like content, created through the action API of the live server."""
    from ckan.tests import factories

    reset_db()
    # plugin tables (activity, harvest) come from the plugins' migrations
    subprocess.run([str(pathlib.Path(sys.executable).with_name("ckan")), "-c",
                    str(live_server.ini), "db", "pending-migrations", "--apply"],
                   check=True, capture_output=True, cwd=ROOT)
    reset_index()
    admin = factories.SysadminWithToken()
    live_server.token = admin["token"]
    act = live_server.action
    return seed(act)
