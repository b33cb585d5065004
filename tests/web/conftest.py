"""A real ``edgecv run`` with the web view on, and clients for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"web view on (http://\S+/)")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        import json

        return json.loads(self.body)


def get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10, data: bytes | None = None
) -> Reply:
    """One request, no redirects followed, errors returned as replies."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with opener.open(request, timeout=timeout) as response:
            return Reply(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


@dataclass
class WebRun:
    """``python -m edgecv run --config CONFIG`` in a child process; ``url`` once its web view listens."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_url(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = URL_LINE.search(self.stderr)
            if found:
                self.url = found.group(1)
                return self.url
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the drain thread's last lines
                raise AssertionError(f"edgecv exited {self.proc.returncode}:\n{self.stderr}")
            time.sleep(0.1)
        raise AssertionError(f"no web view within {timeout} s:\n{self.stderr}")

    def wait_for(self, check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.stderr[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_run(config: dict, folder: Path, *args: str, env: dict[str, str] | None = None) -> WebRun:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgecv", "run", "--config", str(path), *args],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = WebRun(proc)

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            run.lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return run


def web_config(**web: object) -> dict:
    """The bundled demo clip, looping at 10 fps, the web view on a free loopback port."""
    return {
        "source": {"loop": True, "max_fps": 10},
        "output": {"stdout": "off"},
        "web": {"enabled": True, "port": 0, **web},
    }


@pytest.fixture
def web_run(tmp_path: Path) -> Iterator[Callable[..., WebRun]]:
    started: list[WebRun] = []

    def make(config: dict, *args: str, env: dict[str, str] | None = None) -> WebRun:
        run = start_run(config, tmp_path, *args, env=env)
        started.append(run)
        return run

    yield make
    for run in started:
        run.stop()


TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def token_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebRun]:
    """One run shared by a module's tests (two cores shared by many: start the model once): the demo clip,
    token auth with the token file found in $CREDENTIALS_DIRECTORY."""
    folder = tmp_path_factory.mktemp("token_run")
    credentials = folder / "credentials"
    credentials.mkdir()
    (credentials / "web-token").write_text(TOKEN + "\n")
    run = start_run(
        web_config(auth={"token_file": "web-token"}),
        folder,
        env={"CREDENTIALS_DIRECTORY": str(credentials)},
    )
    try:
        run.wait_url()
        yield run
    finally:
        run.stop()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
