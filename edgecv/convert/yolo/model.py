"""The YOLO graph runner shared by YOLOv5's ``Model`` and Ultralytics' ``DetectionModel``.

Both store their layers in ``self.model`` (an ``nn.Sequential``) where each layer carries ``f`` (which
earlier outputs it reads: -1 the previous one, an index, or a list) and ``i`` (its index), and ``save`` lists
the outputs later layers read again. The last layer is the ``Detect`` head, replaced at run time by the export
head of :mod:`.heads`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...errors import ModelError
from . import blocks
from .heads import DetectHead, V5Detect, V8Detect, check_against_reference


class YoloModel(nn.Module):
    model: nn.Sequential
    save: list[int]

    def head(self) -> DetectHead:
        last = self.model[-1]
        if not isinstance(last, V5Detect | V8Detect):
            raise ModelError(
                f"the checkpoint's last layer is {type(last).__name__}, not a Detect head",
                "edgecv converts detection checkpoints (YOLOv5, YOLOv8, YOLO11 detect models)",
            )
        return last

    def prepare(self, input_hw: tuple[int, int]) -> None:
        """float32, eval mode, batch norms folded, constant decode tensors for ``input_hw``."""
        self.float().eval()
        for module in self.modules():
            if isinstance(module, blocks.Conv):
                module.fuse()
        self.head().prepare(input_hw)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Run every layer but the head; return the head's inputs."""
        outputs: list[torch.Tensor | None] = []
        save = set(self.save)
        layers = list(self.model)
        for layer in layers[:-1]:
            x = self._run(layer, x, outputs)
            index: int = layer.__dict__["i"]  # set by the YOLO code that built the layer
            outputs.append(x if index in save else None)
        return self._gather(layers[-1], x, outputs)

    @staticmethod
    def _gather(layer: nn.Module, x: Any, outputs: list[torch.Tensor | None]) -> Any:
        source: int | list[int] = layer.__dict__["f"]  # -1 (previous output), an index or a list
        if source == -1:
            return x
        if isinstance(source, int):
            return outputs[source]
        return [x if j == -1 else outputs[j] for j in source]

    def _run(self, layer: nn.Module, x: Any, outputs: list[torch.Tensor | None]) -> Any:
        return layer(self._gather(layer, x, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head()(self.features(x))

    def verify(self, sample: torch.Tensor) -> float:
        """The export head against the stock decode on ``sample`` (NCHW); the largest difference."""
        with torch.no_grad():
            return check_against_reference(self.head(), self.features(sample))

    @property
    def class_names(self) -> list[str]:
        names = self.__dict__.get("names")
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names, key=int)]
        if isinstance(names, list | tuple):
            return [str(n) for n in names]
        return []


def adopt(module: nn.Module, cls: type[nn.Module]) -> nn.Module:
    """A ``cls`` holding ``module``'s state: the real framework's objects, run with edgecv's forward."""
    adopted = cls.__new__(cls)
    adopted.__dict__.update(module.__dict__)
    return adopted
