"""Export heads for YOLOv5 and Ultralytics (YOLOv8/11) ``Detect`` modules, laid out for full int8.

The stock heads return several tensors, compute ``(2 * sigmoid) ** 2`` (``pow``, which the TFLite converter
cannot legalize in int8) and give boxes in input pixels, which cannot share one int8 scale with 0..1 scores.
Each head here keeps the checkpoint's convolutions and returns **one** tensor ``[1, leading + C, N]``:
(cx, cy, w, h) normalised to the input, then (YOLOv5) objectness, then class scores
after the sigmoid; anchors in the stock order (level, anchor, row, column). Laid out so int8 rounds little:

* **Sigmoid (or softmax) per level, then one concat.** LOGISTIC and SOFTMAX outputs have a fixed int8 scale
  (1/256), so the levels concatenate without re-quantizing; concatenating raw logits would have forced every
  level onto the widest level's scale.
* **Box decode as one depthwise 1x1 conv** over (coordinate, anchor) channels: weight = stride / input size
  (exact per-channel int8 weights), bias = the grid offset. The bias is int32 at the input-times-weight scale,
  so grid offsets stay exact; added as an int8 constant they would be rounded by up to half an output step.
* **Squares as x * x**, never ``pow``; the YOLOv8 distribution integral (DFL) and the ltrb → cxcywh mix as
  one 1x1 conv over the softmax bins, so the box passes through two rounding points, not five.
* **Everything in [0, 1]**: the converter pins the output's int8 range to [0, 1] (scale 1/255, zero point
  -128) and the final concat's inputs to it too, so boxes are rounded once. Boxes are clamped at 1 in the float graph (a MINIMUM op) and by int8 saturation
  in the int8 graph, which is converted with ``clamp_boxes = False``: ai-edge-quantizer leaves MINIMUM (and
  RELU_0_TO_1, what a full clamp becomes) in float.

``reference`` is the stock head's own decode (pixel boxes, per-level grids, ``pow``), kept to check the export
head against it before converting (:func:`check_against_reference`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ModelError

TOLERANCE = 1e-5  # largest difference allowed between the export head and the stock decode (normalised units)


def _depthwise(values: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``values * gain + bias`` per (coordinate, anchor), as one depthwise 1x1 conv; values ``[1, K, N]``."""
    b, k, n = values.shape
    channels = k * n
    out = F.conv2d(
        values.reshape(b, channels, 1, 1),
        gain.reshape(channels, 1, 1, 1),
        bias.reshape(channels),
        groups=channels,
    )
    return out.reshape(b, k, n)


def _clamp(head: nn.Module, boxes: torch.Tensor) -> torch.Tensor:
    """Boxes past the input's far edge stop at 1 (the float graph); see ``clamp_boxes`` in the module doc."""
    return torch.clamp(boxes, max=1.0) if head.__dict__.get("clamp_boxes", True) else boxes


def _cells(ny: int, nx: int, offset: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Column and row index (+ offset) of every cell, row-major: the stock heads' grid order."""
    ys, xs = torch.meshgrid(
        torch.arange(ny, dtype=torch.float32), torch.arange(nx, dtype=torch.float32), indexing="ij"
    )
    return xs.flatten() + offset, ys.flatten() + offset


def _grid_sizes(input_hw: tuple[int, int], strides: list[float]) -> list[tuple[int, int]]:
    h, w = input_hw
    return [(-(-h // int(s)), -(-w // int(s))) for s in strides]


class V5Detect(nn.Module):
    """YOLOv5's ``Detect``: ``na`` anchors per cell, ``5 + nc`` channels (box, objectness, classes)."""

    m: nn.ModuleList
    nc: int
    no: int
    nl: int
    na: int
    anchors: torch.Tensor  # [nl, na, 2] in stride units (YOLOv5 divides them by the stride when it builds)
    stride: torch.Tensor
    leading = 5
    # Constant decode tensors, registered by prepare() for one input size.
    xy_gain: torch.Tensor
    xy_bias: torch.Tensor
    wh_gain: torch.Tensor
    zeros: torch.Tensor

    def prepare(self, input_hw: tuple[int, int]) -> None:
        """Constant decode tensors for this input size (float32, whatever precision the checkpoint had)."""
        h, w = input_hw
        strides = [float(s) for s in self.stride.float()]
        size = torch.tensor([w, h], dtype=torch.float32)
        xy_gain, xy_bias, wh_gain = [], [], []
        for level, (ny, nx) in enumerate(_grid_sizes(input_hw, strides)):
            s = strides[level]
            gx, gy = _cells(ny, nx, -0.5)  # stock: xy = (2 * sigmoid - 0.5 + grid) * stride
            anchors = self.anchors[level].float() * s / size  # [na, 2] normalised
            cells = ny * nx
            xy_gain.append((2 * s / size).reshape(2, 1).expand(2, self.na * cells))
            xy_bias.append(torch.stack([gx.repeat(self.na) * s / w, gy.repeat(self.na) * s / h]))
            # stock: wh = (2 * sigmoid) ** 2 * anchor = sigmoid * sigmoid * (4 * anchor)
            wh_gain.append((4 * anchors).t().repeat_interleave(cells, dim=1))
        self.input_hw = input_hw
        self.register_buffer("xy_gain", torch.cat(xy_gain, 1).contiguous(), persistent=False)
        self.register_buffer("xy_bias", torch.cat(xy_bias, 1).contiguous(), persistent=False)
        self.register_buffer("wh_gain", torch.cat(wh_gain, 1).contiguous(), persistent=False)
        self.register_buffer("zeros", torch.zeros_like(self.wh_gain), persistent=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        levels = []
        for conv, x in zip(self.m, features, strict=True):
            b, _, ny, nx = x.shape
            y = torch.sigmoid(conv(x)).view(b, self.na, self.no, ny * nx)
            levels.append(y.permute(0, 2, 1, 3).reshape(b, self.no, self.na * ny * nx))
        y = torch.cat(levels, 2)
        xy = _depthwise(y[:, :2], self.xy_gain, self.xy_bias)
        wh = _depthwise(y[:, 2:4] * y[:, 2:4], self.wh_gain, self.zeros)
        return torch.cat([_clamp(self, torch.cat([xy, wh], 1)), y[:, 4:]], 1)

    def reference(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The stock inference decode: ``[1, N, 5 + nc]``, boxes in input pixels."""
        z = []
        for level, (conv, x) in enumerate(zip(self.m, features, strict=True)):
            b, _, ny, nx = x.shape
            p = conv(x).view(b, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            grid = torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2).float()
            stride = float(self.stride[level])
            anchor_grid = (self.anchors[level].float() * stride).view(1, self.na, 1, 1, 2)
            y = p.sigmoid()
            xy = (y[..., 0:2] * 2 - 0.5 + grid) * stride
            wh = (y[..., 2:4] * 2) ** 2 * anchor_grid
            z.append(torch.cat((xy, wh, y[..., 4:]), -1).view(b, -1, self.no))
        return torch.cat(z, 1)

    def reference_normalized(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The stock decode in the export head's form: ``[1, 5 + nc, N]``, boxes normalised."""
        h, w = self.input_hw
        y = self.reference(features).transpose(1, 2)
        scale = torch.tensor([w, h, w, h], dtype=y.dtype).reshape(1, 4, 1)
        return torch.cat([torch.clamp(y[:, :4] / scale, max=1.0), y[:, 4:]], 1)


class V8Detect(nn.Module):
    """Ultralytics' anchor-free ``Detect`` (YOLOv8, YOLO11): DFL box branch ``cv2``, class branch ``cv3``."""

    cv2: nn.ModuleList
    cv3: nn.ModuleList
    nc: int
    nl: int
    reg_max: int
    stride: torch.Tensor
    leading = 4
    mix: torch.Tensor  # registered by prepare(), like the two below
    box_gain: torch.Tensor
    box_bias: torch.Tensor

    def check_supported(self) -> None:
        if bool(self.__dict__.get("end2end", False)):
            raise ModelError(
                "this Ultralytics Detect head is end-to-end (one-to-one, NMS-free: YOLOv10/YOLO26 style)",
                "edgecv converts YOLOv8/YOLO11 heads; export that model with Ultralytics' own exporter",
            )
        if int(self.reg_max) < 2:
            raise ModelError(
                f"this Ultralytics Detect head has reg_max {self.reg_max} (no distribution integral)",
                "edgecv converts YOLOv8/YOLO11 heads (reg_max 16); export that model with Ultralytics' exporter",
            )

    def prepare(self, input_hw: tuple[int, int]) -> None:
        self.check_supported()
        h, w = input_hw
        strides = [float(s) for s in self.stride.float()]
        bins = torch.arange(self.reg_max, dtype=torch.float32)
        # 1x1 conv over (side, bin) softmax channels → (centre offset x, y; width, height) in strides:
        # cx - anchor = (r - l) / 2, w = l + r, with l = sum_k p_l,k * k (the DFL integral).
        mix = torch.zeros(4, 4, self.reg_max)
        mix[0, 0], mix[0, 2] = -bins / 2, bins / 2  # sides come as (l, t, r, b)
        mix[1, 1], mix[1, 3] = -bins / 2, bins / 2
        mix[2, 0], mix[2, 2] = bins, bins
        mix[3, 1], mix[3, 3] = bins, bins
        gain, bias = [], []
        for level, (ny, nx) in enumerate(_grid_sizes(input_hw, strides)):
            s = strides[level]
            ax, ay = _cells(ny, nx, 0.5)  # anchor points at cell centres, in strides
            unit = torch.tensor([s / w, s / h, s / w, s / h]).reshape(4, 1)
            gain.append(unit.expand(4, ny * nx))
            bias.append(torch.stack([ax * s / w, ay * s / h, torch.zeros_like(ax), torch.zeros_like(ay)]))
        self.input_hw = input_hw
        self.register_buffer("mix", mix.reshape(4, 4 * self.reg_max, 1, 1), persistent=False)
        self.register_buffer("box_gain", torch.cat(gain, 1).contiguous(), persistent=False)
        self.register_buffer("box_bias", torch.cat(bias, 1).contiguous(), persistent=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        bins, scores = [], []
        for box_branch, cls_branch, x in zip(self.cv2, self.cv3, features, strict=True):
            b, _, ny, nx = x.shape
            # Softmax over the last axis: TFLite's SOFTMAX op (int8, fixed output scale); over another axis
            # it decomposes into REDUCE_MAX / EXP / DIV, which stay float.
            logits = box_branch(x).view(b, 4, self.reg_max, ny * nx).transpose(2, 3)
            bins.append(torch.softmax(logits, 3).transpose(2, 3))
            scores.append(torch.sigmoid(cls_branch(x)).view(b, self.nc, ny * nx))
        p = torch.cat(bins, 3)  # [b, 4, reg_max, N]
        b, n = p.shape[0], p.shape[3]
        strided = F.conv2d(p.reshape(b, 4 * self.reg_max, n, 1), self.mix).reshape(b, 4, n)
        box = _clamp(self, _depthwise(strided, self.box_gain, self.box_bias))
        return torch.cat([box, torch.cat(scores, 2)], 1)

    def reference(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The stock inference decode: ``[1, 4 + nc, N]``, boxes (cx, cy, w, h) in input pixels."""
        outs = [torch.cat((self.cv2[i](x), self.cv3[i](x)), 1) for i, x in enumerate(features)]
        b = outs[0].shape[0]
        no = self.nc + 4 * self.reg_max
        anchors, strides = [], []
        for level, out in enumerate(outs):
            _, _, ny, nx = out.shape
            sy, sx = torch.meshgrid(torch.arange(ny) + 0.5, torch.arange(nx) + 0.5, indexing="ij")
            anchors.append(torch.stack((sx, sy), -1).view(-1, 2).float())
            strides.append(torch.full((ny * nx, 1), float(self.stride[level])))
        anchor_points = torch.cat(anchors).transpose(0, 1).unsqueeze(0)
        stride_tensor = torch.cat(strides).transpose(0, 1)
        box, cls = torch.cat([o.view(b, no, -1) for o in outs], 2).split((4 * self.reg_max, self.nc), 1)
        a = box.shape[2]
        dist = box.view(b, 4, self.reg_max, a).transpose(2, 1).softmax(1)
        dist = (dist * torch.arange(self.reg_max, dtype=dist.dtype).view(1, -1, 1, 1)).sum(1)
        lt, rb = dist.chunk(2, 1)
        x1y1, x2y2 = anchor_points - lt, anchor_points + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * stride_tensor
        return torch.cat((dbox, cls.sigmoid()), 1)

    def reference_normalized(self, features: list[torch.Tensor]) -> torch.Tensor:
        h, w = self.input_hw
        y = self.reference(features)
        scale = torch.tensor([w, h, w, h], dtype=y.dtype).reshape(1, 4, 1)
        return torch.cat([torch.clamp(y[:, :4] / scale, max=1.0), y[:, 4:]], 1)


DetectHead = V5Detect | V8Detect


def check_against_reference(head: DetectHead, features: list[torch.Tensor]) -> float:
    """Largest difference between the export head and the stock decode; raises past :data:`TOLERANCE`."""
    with torch.no_grad():
        ours = head(features)
        stock = head.reference_normalized(features)
    if ours.shape != stock.shape:
        raise ModelError(
            f"the export head's output {tuple(ours.shape)} differs from the stock decode's {tuple(stock.shape)}",
            "report this checkpoint to edgecv: its Detect head is laid out differently",
        )
    error = float((ours - stock).abs().max())
    if error > TOLERANCE:
        raise ModelError(
            f"the export head differs from the stock decode by {error:.3g} (tolerance {TOLERANCE:g})",
            "report this checkpoint to edgecv: its Detect head computes something edgecv does not",
        )
    return error
