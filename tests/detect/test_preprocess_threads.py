"""One Preprocessor shared by capture threads whose sources differ in size (as ``edgecv run`` shares it)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from edgecv.detect.preprocess import InputSpec, Preprocessor, Transform, letterbox_geometry

SPEC = InputSpec(320, 320, np.dtype(np.int8), 1 / 255, -128)
SIZES = [(240, 320), (320, 180)]  # pads above and below vs left and right: a mix-up moves every pixel
ROUNDS = 400


@pytest.fixture
def busy_switching() -> Iterator[None]:
    # Switch threads as often as the run loop does, so an interleaving shows within a few hundred frames.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


def frames_of(h: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(h * 1000 + w)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(3)]


@pytest.mark.usefixtures("busy_switching")
def test_two_threads_of_different_sizes_never_see_each_others_geometry() -> None:
    shared = Preprocessor(SPEC)
    frames = {size: frames_of(*size) for size in SIZES}
    # What each frame must become, from a preprocessor nobody else touches.
    alone = Preprocessor(SPEC)
    expected = {size: [alone(f)[0].copy() for f in frames[size]] for size in SIZES}
    wrong: dict[tuple[int, int], list[str]] = {size: [] for size in SIZES}
    start = threading.Barrier(len(SIZES))

    def hammer(size: tuple[int, int]) -> None:
        buffers = [shared.new_buffer(), shared.new_buffer()]  # one thread's own pair, as in the run loop
        geometry = letterbox_geometry(*size, SPEC.height, SPEC.width)
        start.wait()
        for i in range(ROUNDS):
            k = i % len(frames[size])
            out, transform = shared(frames[size][k], buffers[i % 2])
            if transform != geometry:
                wrong[size].append(f"frame {i}: transform {transform}")
            elif not np.array_equal(out, expected[size][k]):
                wrong[size].append(f"frame {i}: pixels differ")

    threads = [threading.Thread(target=hammer, args=(size,)) for size in SIZES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for size in SIZES:
        assert not wrong[size], f"{len(wrong[size])} of {ROUNDS} frames {size} wrong, first: {wrong[size][0]}"


def test_a_reused_buffer_is_repadded_for_a_new_size_and_only_then() -> None:
    pre = Preprocessor(SPEC)
    buffer = pre.new_buffer()
    wide, tall = frames_of(*SIZES[0])[0], frames_of(*SIZES[1])[0]
    for image in (wide, tall, tall, wide, wide):
        out, _ = pre(image, buffer)
        np.testing.assert_array_equal(out, Preprocessor(SPEC)(image)[0])


def test_a_freed_buffer_whose_id_is_reused_is_padded() -> None:
    """A new array may get the address (and so the ``id``) of a freed one; its borders are not filled."""
    pre = Preprocessor(SPEC)
    image = frames_of(*SIZES[0])[0]
    expected = Preprocessor(SPEC)(image)[0]
    for _ in range(20):
        buffer = pre.new_buffer()
        buffer.fill(7)  # what an unfilled border would show
        out, _ = pre(image, buffer)
        np.testing.assert_array_equal(out, expected)
        del buffer, out


def test_placement_is_computed_without_state_and_shared_values_are_immutable() -> None:
    pre = Preprocessor(SPEC)
    first = pre.placement(240, 320)
    assert pre.placement(240, 320) is first
    assert (
        first.transform == letterbox_geometry(240, 320, 320, 320) == Transform(1.0, 1.0, 0.0, 40.0, 320, 240)
    )
    with pytest.raises(AttributeError):
        first.left = 3  # type: ignore[misc]
