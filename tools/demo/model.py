"""The demo detector: a small anchor-free PyTorch model with a YOLOv8-style head.

Output ``[1, 4 + C, N]``: normalised (cx, cy, w, h) then sigmoid class scores, one column per cell of the
stride 8/16/32 grids, exactly what ``edgecv``'s yolov8 decoder reads. Boxes are decoded inside the model, so
the int8 file is self-contained. The head is laid out for full-integer int8 (the first head lost 4.07
mAP50-95 points to int8 on the demo's 200 held-out scenes, this one 0.93, of which ~0.9 is the output's own
1/255 step):

* **Separate box and class outputs** (YOLOv8's cv2/cv3 split). One 1x1 conv emitting both made the box
  logits share an int8 scale with class logits spanning -25..+5: a 0.08 step on the box logits.
* **Box outputs bounded by ReLU6** (fused into the conv, fixed [0, 6] range, step 6/255) and used linearly:
  centre offset ``a - 3`` strides, side ``a * SIZE_REACH / 6`` strides. No sigmoid on the box path, so no
  slope that amplifies the logit step, and no chain of SUB/MUL ops each rounding again.
* **Decode as one depthwise 1x1 conv** whose channels are (coordinate, anchor) pairs: weight = stride / input
  size, bias = the anchor centre. The bias is int32 at the input-times-weight scale, so anchor centres stay
  exact; added as an int8 constant tensor they were rounded by up to half an output step
  (0.8 points when simulated on float outputs).
* **One final concat** fed directly by the decode and the sigmoid, so the box tensor takes the output's scale
  and is rounded once. Nested per-level concats re-quantized every value a second time.
* **Two sentinel box channels** (constant 6 and 0, sliced off after the level concat) in the exported graph,
  so every level's box conv and the concat calibrate to exactly [0, 6] and the levels concatenate without
  re-quantizing: a level whose outputs never reached 6 got a scale of its own and was rounded twice
  (0.93 vs 1.04 points without them, same weights).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRIDES = (8, 16, 32)
BOX_RANGE = 6.0  # ReLU6: box outputs live in [0, 6]
SENTINEL_BIAS = 50.0  # ReLU6 of +-50 is 6 and 0 whatever the features
OFFSET_REACH = 3.0  # strides a box centre may sit from its anchor (training assigns within 2.5)
SIZE_REACH = 8.0  # strides a box side may span (training gives a level boxes up to 8 strides): 1.0 at /32


def conv(c_in: int, c_out: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6())


class Head(nn.Module):
    """Shared 3x3 conv, then a box branch (4 channels, ReLU6) and a class branch (C logits)."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.stem = conv(c, c)
        self.box = nn.Conv2d(c, 4, 1)
        self.cls = nn.Conv2d(c, num_classes, 1)
        nn.init.constant_(self.cls.bias, -4.0)  # start near "nothing here": stable early training
        nn.init.constant_(self.box.bias[:2], OFFSET_REACH)  # centred on the anchor
        nn.init.constant_(self.box.bias[2:], 2.7 * BOX_RANGE / SIZE_REACH)  # about 2.7 strides wide
        # Tiny, non-zero weights: an all-zero channel would get a zero int8 weight scale.
        self.register_buffer("sentinel_weight", torch.full((2, c, 1, 1), 1e-3), persistent=False)
        self.register_buffer("sentinel_bias", torch.tensor([SENTINEL_BIAS, -SENTINEL_BIAS]), persistent=False)

    def forward(self, x: torch.Tensor, sentinels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.stem(x)
        if not sentinels:
            return F.relu6(self.box(f)).flatten(2), self.cls(f).flatten(2)
        weight = torch.cat([self.box.weight, self.sentinel_weight])
        bias = torch.cat([self.box.bias, self.sentinel_bias])
        return F.relu6(F.conv2d(f, weight, bias)).flatten(2), self.cls(f).flatten(2)


class DemoDetector(nn.Module):
    def __init__(self, num_classes: int = 3, imgsz: int = 256, width: int = 16) -> None:
        super().__init__()
        w = width
        self.num_classes, self.imgsz = num_classes, imgsz
        self.stem = nn.Sequential(conv(3, w, 3, 2), conv(w, 2 * w, 3, 2), conv(2 * w, 2 * w))  # /4
        self.c3 = nn.Sequential(conv(2 * w, 3 * w, 3, 2), conv(3 * w, 3 * w))  # /8
        self.c4 = nn.Sequential(conv(3 * w, 4 * w, 3, 2), conv(4 * w, 4 * w))  # /16
        self.c5 = nn.Sequential(conv(4 * w, 6 * w, 3, 2), conv(6 * w, 6 * w))  # /32
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.top4 = conv(10 * w, 4 * w)  # up(P5) ++ P4
        self.top3 = conv(7 * w, 3 * w)  # up(N4) ++ P3
        self.down4 = conv(3 * w, 3 * w, 3, 2)
        self.out4 = conv(7 * w, 4 * w)  # down(N3) ++ N4
        self.down5 = conv(4 * w, 4 * w, 3, 2)
        self.out5 = conv(10 * w, 6 * w)  # down(M4) ++ P5
        self.heads = nn.ModuleList(Head(c, num_classes) for c in (3 * w, 4 * w, 6 * w))
        centres, strides = [], []
        for s in STRIDES:
            n = -(-imgsz // s)
            ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
            centres.append(torch.stack([xs.flatten(), ys.flatten()]).float() * s + s / 2)
            strides.append(torch.full((1, n * n), float(s)))
        self.register_buffer("centres", torch.cat(centres, 1))  # [2, N] input pixels
        self.register_buffer("strides", torch.cat(strides, 1))  # [1, N]
        # Decode as box = a * gain + offset, per (coordinate, anchor): normalised units.
        unit = self.strides / imgsz
        gain = torch.cat([unit.expand(2, -1), unit.expand(2, -1) * (SIZE_REACH / BOX_RANGE)], 0)
        offset = torch.cat([self.centres / imgsz - OFFSET_REACH * unit, torch.zeros_like(self.centres)], 0)
        self.register_buffer("gain", gain)  # [4, N]
        self.register_buffer("offset", offset)  # [4, N]

    def raw(self, x: torch.Tensor, sentinels: bool = False) -> torch.Tensor:
        """[B, 4 + C, N]: box outputs in [0, 6] (before decoding) and class logits; training uses these.

        ``sentinels`` adds the export graph's constant channels (same values; they only steer calibration).
        """
        p3 = self.c3(self.stem(x))
        p4 = self.c4(p3)
        p5 = self.c5(p4)
        n4 = self.top4(torch.cat([self.up(p5), p4], 1))
        n3 = self.top3(torch.cat([self.up(n4), p3], 1))
        m4 = self.out4(torch.cat([self.down4(n3), n4], 1))
        m5 = self.out5(torch.cat([self.down5(m4), p5], 1))
        levels = zip(self.heads, (n3, m4, m5), strict=True)
        boxes, logits = zip(*(h(f, sentinels) for h, f in levels), strict=True)
        # Sliced after the concat: calibration sees [0, 6] in every image, on every level and on the concat.
        return torch.cat([torch.cat(boxes, 2)[:, :4], torch.cat(logits, 2)], 1)

    def decode_cxcywh(self, raw: torch.Tensor) -> torch.Tensor:
        """Box outputs [B, 4, N] → normalised (cx, cy, w, h), training's float form of the depthwise decode."""
        return raw[:, :4] * self.gain + self.offset

    def decode(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw → (xyxy in input pixels [B, 4, N], class scores [B, C, N]) for training."""
        box = self.decode_cxcywh(raw) * self.imgsz
        cxcy, wh = box[:, :2], box[:, 2:]
        return torch.cat([cxcy - wh / 2, cxcy + wh / 2], 1), torch.sigmoid(raw[:, 4:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.raw(x, sentinels=True)
        b, n = raw.shape[0], raw.shape[2]
        # Depthwise 1x1 conv over (coordinate, anchor) channels: the anchor centres ride in its int32 bias.
        channels = 4 * n
        box = F.conv2d(
            raw[:, :4].reshape(b, channels, 1, 1),
            self.gain.reshape(channels, 1, 1, 1),
            self.offset.reshape(channels),
            groups=channels,
        ).reshape(b, 4, n)
        return torch.cat([box, torch.sigmoid(raw[:, 4:])], 1)
