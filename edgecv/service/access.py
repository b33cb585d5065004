"""Can the service read what its config names? Tried as the service's user, not as whoever runs the check.

The units run edgecv as a dynamic user (``DynamicUser=yes``) that owns nothing on disk and belongs only to
the unit's ``SupplementaryGroups=``. ``sudo edgecv check`` reads everything as root and would pass while the
service fails with ``Permission denied``; so as root the check drops to an unprivileged uid with the unit's
groups and asks the kernel (ACLs and all). Without root it cannot change user and reads the permission bits.
"""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import edgecv

from ..config import Settings, read_config_file
from ..config.secrets import secret_paths, values_at
from ..errors import EdgecvError

# nobody: like the unit's dynamic user, it owns none of the files the service reads.
SERVICE_UID = SERVICE_GID = 65534
_PROBE = (
    "import json, os, sys; a = sys.argv[1:]; "
    "print(json.dumps([os.access(p, int(m)) for p, m in zip(a[::2], a[1::2])]))"
)
_BITS = {os.R_OK: 0o4, os.W_OK: 0o2, os.X_OK: 0o1}


@dataclass(frozen=True)
class Need:
    what: str  # the config key (or "config", "edgecv") a person would fix
    path: Path
    access: int  # os.R_OK, with X_OK for folders and W_OK for devices

    def __str__(self) -> str:
        return f"{self.what} {self.path}"


def service_groups() -> tuple[str, ...]:
    """The unit's ``SupplementaryGroups=``: the groups the service user is in."""
    from .install import units_dir

    try:
        text = (units_dir() / "edgecv.service").read_text(encoding="utf-8")
    except (OSError, EdgecvError):
        return ()
    groups: list[str] = []
    for line in text.splitlines():
        if line.startswith("SupplementaryGroups="):
            groups += line.partition("=")[2].split()
    return tuple(groups)


def is_service_config(config_path: str | Path | None) -> bool:
    """A config in ``etc/edgecv/`` (``/etc/edgecv`` or under an install root): what the units run."""
    if not config_path:
        return False
    folder = Path(config_path).absolute().parent
    return folder.name == "edgecv" and folder.parent.name == "etc"


def _need(what: str, path: Path) -> Need:
    if path.is_dir():
        return Need(what, path, os.R_OK | os.X_OK)
    if path.exists() and stat.S_ISCHR(path.stat().st_mode):
        return Need(what, path, os.R_OK | os.W_OK)  # a camera is opened read-write
    return Need(what, path, os.R_OK)


def needs(settings: Settings, config_path: str | Path | None) -> list[Need]:
    """Every file the service reads itself (credentials are read by systemd, as root)."""
    from .. import bundled

    found = [Need("edgecv", Path(edgecv.__file__).resolve().parent, os.R_OK | os.X_OK)]
    if config_path:
        found.append(Need("config", Path(config_path).absolute(), os.R_OK))  # the unit names it absolute
    found.append(_need("model.path", settings.model.path or bundled.demo_model()))
    if settings.model.labels is not None:
        found.append(_need("model.labels", settings.model.labels))
    for name, camera in settings.camera_sections().items():
        uri = camera.source.uri
        if uri and Path(uri).exists():
            found.append(_need(f"cameras.{name}.source.uri" if settings.cameras else "source.uri", Path(uri)))
    tls = settings.mqtt.tls
    for key, value in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file), ("key_file", tls.key_file)):
        if value is not None:
            found.append(_need(f"mqtt.tls.{key}", value))
    password_file = settings.mqtt.password_file
    if password_file is not None and password_file.is_absolute():
        found.append(_need("mqtt.password_file", password_file))
    # A missing file is the source or model row's news; a relative one is this row's (see relative()).
    return [need for need in found if need.path.exists() or not need.path.is_absolute()]


def relative(items: list[Need]) -> list[Need]:
    """Paths the service would look up from its own working directory (/), not from where check runs."""
    return [need for need in items if not need.path.is_absolute()]


def _group_ids(names: tuple[str, ...]) -> list[int]:
    ids = []
    for name in names:
        try:
            ids.append(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue  # systemd would refuse to start the unit; not this row's subject
    return ids


def probe_as_service(items: list[Need], groups: tuple[str, ...]) -> list[Need]:
    """As root: the items an unprivileged uid in ``groups`` may not access, asked of the kernel."""
    args = [str(a) for need in items for a in (need.path, need.access)]
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _PROBE, *args],
            user=SERVICE_UID,
            group=SERVICE_GID,
            extra_groups=_group_ids(groups),
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
        )
        allowed = json.loads(done.stdout)
        if not isinstance(allowed, list) or len(allowed) != len(items):
            raise ValueError(done.stderr)
    except (OSError, ValueError):
        # The interpreter itself is out of reach (a venv made from a Python under /root, say): so is all
        # of edgecv for the service.
        return [Need("python", Path(sys.executable).resolve(), os.X_OK)]
    return [need for need, ok in zip(items, allowed, strict=True) if not ok]


def _bits_allow(path: Path, access: int, gids: set[int]) -> bool:
    """Whether a user owning nothing, in groups ``gids``, may access ``path`` by its permission bits."""

    def allowed(mode_stat: os.stat_result, bits: int) -> bool:
        # The kernel uses the group bits when the group matches, and only then; the others bits otherwise.
        shift = 3 if mode_stat.st_gid in gids else 0
        return (mode_stat.st_mode >> shift) & bits == bits

    path = path.resolve()
    if not all(allowed(os.stat(parent), 0o1) for parent in path.parents):
        return False
    return allowed(os.stat(path), sum(bits for flag, bits in _BITS.items() if access & flag))


def denied(items: list[Need], groups: tuple[str, ...]) -> list[Need]:
    items = [need for need in items if need.path.exists()]
    if os.geteuid() == 0:
        return probe_as_service(items, groups)
    gids = set(_group_ids(groups))
    return [need for need in items if not _bits_allow(need.path, need.access, gids)]


def exposed_secrets(config_path: str | Path | None) -> list[str]:
    """The secret keys a config file holds while every user on the machine may read it."""
    if not config_path or not _bits_allow(Path(config_path), os.R_OK, set()):
        return []
    values = read_config_file(config_path)
    return [".".join(path) for path in secret_paths(Settings) if values_at(values, [path])]
