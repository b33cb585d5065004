"""``load_settings`` reads what it is given and changes nothing outside the call.

It once swapped ``os.environ`` and set a class attribute for the duration of a load: two loads at once (two
cameras' configs, a test beside the service) could read each other's values, and any thread reading the
environment meanwhile saw the wrong one.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from edgecv.config import Settings, load_settings
from edgecv.errors import ConfigError


class ReadOnlyEnviron(dict[str, str]):
    """Stands in for ``os.environ``: reads as the real one did, fails the test on any write."""

    def _refuse(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError("load_settings wrote to os.environ")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # every writer refuses


@contextmanager
def frozen_environ() -> Iterator[None]:
    """``os.environ`` read-only (``putenv`` too) within the block, and the same after it as before.

    A block, not a fixture: pytest itself sets PYTEST_CURRENT_TEST between the phases of a test.
    """
    before = dict(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "environ", ReadOnlyEnviron(before))
        patch.setattr(os, "putenv", ReadOnlyEnviron._refuse)
        patch.setattr(os, "unsetenv", ReadOnlyEnviron._refuse)
        yield
    assert dict(os.environ) == before


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads every few microseconds so two loads interleave inside pydantic, not one after the other."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("busy_switching")
def test_two_threads_load_at_once_and_each_gets_its_own(tmp_path: Path) -> None:
    cameras = []
    for name, conf, iou in (("a", 0.3, 0.6), ("b", 0.7, 0.2)):
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"detect:\n  conf: {conf}\nsource:\n  uri: {name}.mp4\n")
        cameras.append((config, {"EDGECV_DETECT__IOU": str(iou)}, (conf, iou, f"{name}.mp4")))
    start = threading.Barrier(len(cameras))

    def load_many(config: Path, environ: dict[str, str]) -> list[tuple[float, float, str | None]]:
        start.wait()
        loaded = [load_settings(config, environ=environ) for _ in range(30)]
        return [(s.detect.conf, s.detect.iou, s.source.uri) for s in loaded]

    with frozen_environ(), ThreadPoolExecutor(len(cameras)) as pool:
        futures = [pool.submit(load_many, config, environ) for config, environ, _ in cameras]
        results = [future.result() for future in futures]
    for (_, _, expected), got in zip(cameras, results, strict=True):
        assert set(got) == {expected}


def test_given_environ_replaces_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGECV_DETECT__CONF", "0.9")
    monkeypatch.setenv("EDGECV_DETECT__IOU", "0.9")
    settings = load_settings(environ={"EDGECV_DETECT__CONF": "0.3"})
    assert settings.detect.conf == 0.3  # the given value, not the process's 0.9
    assert settings.detect.iou == 0.45  # the default: the process's variable is not read at all
    assert os.environ["EDGECV_DETECT__CONF"] == "0.9"


def test_a_load_leaves_nothing_for_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.upper().startswith("EDGECV_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "edgecv.yaml"
    config.write_text("detect:\n  conf: 0.7\n")
    load_settings(config, {"detect": {"iou": 0.2}}, environ={"EDGECV_DETECT__MAX_DETECTIONS": "5"})
    with pytest.raises(ConfigError):
        load_settings(config, environ={"EDGECV_DETECT__CONF": "7"})
    # Neither the file, the flags nor the mapping of an earlier load (even a failed one) reach a later one.
    assert Settings().model_dump() == load_settings(environ={}).model_dump()


def test_malformed_json_in_the_environment_says_what_to_do() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"EDGECV_DETECT__CLASS_IOU": "{person: 0.3}"})
    message = str(info.value)
    assert 'error parsing value for field "detect"' in message
    assert "complex values in the environment take JSON" in message
    assert info.value.exit_code == 2
