"""The installed service can read its own config: the unit's command line, run as an unprivileged uid
(the unit's ``DynamicUser=`` owns nothing on disk), works on a fresh install and after an install over an
old root-only config holding a password; ``edgecv check`` finds what that user cannot read.

systemd is not running here: the installed unit is read, its ``ExecStart=`` and ``Environment=`` lines are
run with ``setpriv`` as uid 65534, and ``LoadCredential=`` is played by copying the credential into a
folder only that uid may read, as systemd does.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from edgecv import bundled

from ..cli.helpers import REPO
from ..mqtt.conftest import Broker

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
PASSWORD = "service-password-7"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="installs as root and drops to an unprivileged uid"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not installed"),
]


@dataclass(frozen=True)
class Python:
    """An interpreter the unprivileged uid can run, with the environment that makes edgecv importable."""

    executable: str
    env: dict[str, str]


def _site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if Path(p).is_dir()]


@pytest.fixture(scope="module")
def service_python() -> Python:
    """This venv's interpreter if uid 65534 may run it, else the system one of the same version over the
    venv's packages (a venv made from a Python under /root is out of that uid's reach)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join([str(REPO), *_site_packages()])}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{version}"):
        # Through sh, as the unit's ExecStart= is: setpriv itself execs with root's capabilities still on.
        probe = subprocess.run(
            [*SETPRIV, "/bin/sh", "-c", 'exec "$0" -c "import edgecv.cli, cv2, pydantic"', candidate],
            env=env,
            capture_output=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return Python(candidate, env)
    pytest.skip(f"no Python {version} that uid {NOBODY} may run with edgecv importable")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is root-only)."""
    root = Path(tempfile.mkdtemp(prefix="edgecv-install-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def wrapper(world: Path, python: Python) -> Path:
    """The --exec for the unit: a world-runnable edgecv launcher over ``python``."""
    exe = world / "opt" / "bin" / "edgecv"
    exe.parent.mkdir(parents=True)
    exports = "".join(f"export {k}='{v}'\n" for k, v in python.env.items())
    exe.write_text(f'#!/bin/sh\n{exports}exec {python.executable} -m edgecv "$@"\n')
    exe.chmod(0o755)
    for folder in (exe.parent, exe.parent.parent):
        folder.chmod(0o755)
    return exe


def install(world: Path, exe: Path, instance: str) -> subprocess.CompletedProcess:
    root = world / "root"
    return subprocess.run(
        [str(exe), "service", "install", "--instance", instance, "--root", str(root), "--exec", str(exe)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def service_command(world: Path, instance: str) -> tuple[list[str], dict[str, str]]:
    """The installed unit's ExecStart= and Environment=, with its specifiers and paths under the root."""
    root = world / "root"
    unit = (root / "etc/systemd/system/edgecv@.service").read_text()
    state = world / "state"
    state.mkdir(exist_ok=True)
    state.chmod(0o777)

    def expand(text: str) -> str:
        text = text.replace("%i", instance).replace("%S", str(state))
        return text.replace("/etc/edgecv/", f"{root}/etc/edgecv/")

    command: list[str] = []
    env = {"PATH": "/usr/bin:/bin", "HOME": str(state), "XDG_STATE_HOME": str(state)}
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            command = expand(line.partition("=")[2]).split()
        elif line.startswith("Environment="):
            key, _, value = expand(line.partition("=")[2]).partition("=")
            env[key] = value
    assert command, unit
    return command, env


def world_copy(world: Path, source: Path) -> Path:
    copy = world / source.name
    if not copy.exists():
        shutil.copy(source, copy)
        copy.chmod(0o644)
    return copy


def world_clip(world: Path) -> Path:
    return world_copy(world, bundled.demo_clip())


def world_model_yaml(world: Path) -> str:
    """The model section, in a place every user may read (a run with a source names its model)."""
    model, labels = world_copy(world, bundled.demo_model()), world_copy(world, bundled.demo_labels())
    return f"model:\n  path: {model}\n  labels: {labels}\n"


def as_service(command: list[str], env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SETPRIV, *command, *extra], env=env, capture_output=True, text=True, timeout=120, cwd="/"
    )


def test_a_fresh_install_runs_as_the_unprivileged_service_user(world: Path, service_python: Python) -> None:
    exe = wrapper(world, service_python)
    done = install(world, exe, "cam1")
    assert done.returncode == 0, done.stderr
    config = world / "root/etc/edgecv/cam1.yaml"
    # The skeleton's camera is absent here: point it at a clip and name a model, as a person edits the file.
    settings = yaml.safe_load(config.read_text())
    settings["source"]["uri"] = str(world_clip(world))
    settings["model"] = yaml.safe_load(world_model_yaml(world))["model"]
    config.write_text(yaml.safe_dump(settings))
    command, env = service_command(world, "cam1")
    result = as_service(command, env, "--max-frames", "3")
    assert result.returncode == 0, result.stderr
    assert '"type":"frame"' in result.stdout.replace(" ", "")
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    credentials = world / "root/etc/edgecv/credentials"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o700


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed")
def test_an_old_root_only_config_with_a_password_is_moved_to_a_credential(
    world: Path, service_python: Python, tmp_path: Path
) -> None:
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "cam", PASSWORD], check=True)
    passwords.chmod(0o644)
    broker = Broker(tmp_path, passwords=passwords)
    broker.start()
    try:
        exe = wrapper(world, service_python)
        etc = world / "root/etc/edgecv"
        etc.mkdir(parents=True)
        etc.chmod(0o700)  # as root's umask 077 left it
        config = etc / "cam2.yaml"
        config.write_text(
            "# front door\nsource:\n  uri: "
            + str(world_clip(world))
            + "\n"
            + world_model_yaml(world)
            + "mqtt:\n  host: 127.0.0.1\n"
            f"  port: {broker.port}\n  username: cam\n  password: {PASSWORD}  # old habit\n"
        )
        config.chmod(0o640)
        done = install(world, exe, "cam2")
        assert done.returncode == 0, done.stderr
        assert "move" in done.stdout and PASSWORD not in done.stdout
        credential = etc / "credentials/mqtt-password"
        assert credential.read_text().strip() == PASSWORD
        assert stat.S_IMODE(credential.stat().st_mode) == 0o600 and credential.stat().st_uid == 0
        text = config.read_text()
        assert PASSWORD not in text and "# front door" in text
        assert yaml.safe_load(text)["mqtt"] == {"host": "127.0.0.1", "port": broker.port, "username": "cam"}

        # LoadCredential= reads the root-only file as root and hands the service a copy it may read.
        handed = world / "run-credentials"
        handed.mkdir()
        shutil.copy(credential, handed / "mqtt-password")
        for path in (handed, handed / "mqtt-password"):
            os.chown(path, NOBODY, NOBODY)
        handed.chmod(0o500)
        (handed / "mqtt-password").chmod(0o400)
        command, env = service_command(world, "cam2")
        env["CREDENTIALS_DIRECTORY"] = str(handed)
        result = as_service(command, env, "--max-frames", "3")
        # A refused password would be exit 2; 0 means the broker took the credential.
        assert result.returncode == 0, result.stderr
        assert PASSWORD not in result.stderr

        # As root, check reads the credential where LoadCredential= does, and the files as the service.
        checked = subprocess.run(
            [str(exe), "check", "--config", str(config)], capture_output=True, text=True, timeout=120
        )
        rows = {line.split()[0]: line for line in checked.stdout.splitlines()[1:]}
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert rows["files"].split()[1] == "pass" and f"uid {NOBODY}" in rows["files"]
        assert rows["mqtt"].split()[1] == "pass"
    finally:
        broker.stop()


def test_check_as_root_fails_what_the_service_user_cannot_read(world: Path, service_python: Python) -> None:
    exe = wrapper(world, service_python)
    etc = world / "root/etc/edgecv"
    etc.mkdir(parents=True, mode=0o755)
    etc.chmod(0o755)
    config = etc / "cam3.yaml"
    config.write_text(f"source:\n  uri: {world_clip(world)}\n" + world_model_yaml(world))
    config.chmod(0o640)  # what 'edgecv service install' wrote before
    result = subprocess.run(
        [str(exe), "check", "--config", str(config)], capture_output=True, text=True, timeout=120
    )
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert result.returncode != 0, result.stdout + result.stderr
    assert rows["files"].split()[1] == "fail" and f"config {config}" in rows["files"]
    # Root reads them all: only the files row tells.
    assert rows["source"].split()[1] == "pass" and rows["model"].split()[1] == "pass"

    config.chmod(0o644)
    config.write_text(config.read_text() + "mqtt:\n  username: u\n  password: in-the-open\n")
    result = subprocess.run(
        [str(exe), "check", "--config", str(config)], capture_output=True, text=True, timeout=120
    )
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert rows["files"].split()[1] == "warn" and "mqtt.password" in rows["files"]
    assert "in-the-open" not in result.stdout + result.stderr
