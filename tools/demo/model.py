"""The demo detector: a small anchor-free PyTorch model with a YOLOv8-style head.

Output ``[1, 4 + C, N]``: normalised (cx, cy, w, h) then sigmoid class scores, one column per cell of the
stride 8/16/32 grids, exactly what ``edgecv``'s yolov8 decoder reads. Boxes are decoded inside the model
(so the int8 file is self-contained), per level and in normalised units, so that every int8 tensor on the
way spans a small range: decoding all levels at once in pixels made one tensor span -256..512 px, a 3 px
quantization step that cost 4 mAP50-95 points. Sigmoid-bounded offsets and sizes quantize far better than
``exp``.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDES = (8, 16, 32)
OFFSET_REACH = 3.0  # strides a box centre may sit from its anchor (training assigns within 2.5)
SIZE_REACH = 10.0  # strides a box side may span at most (training gives a level boxes up to 8 strides)


def conv(c_in: int, c_out: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6())


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
        self.heads = nn.ModuleList(
            nn.Sequential(conv(c, c), nn.Conv2d(c, 4 + num_classes, 1)) for c in (3 * w, 4 * w, 6 * w)
        )
        for head in self.heads:
            nn.init.constant_(head[-1].bias[4:], -4.0)  # start near "nothing here": stable early training
            nn.init.constant_(head[-1].bias[:2], 0.0)  # centred on the anchor
            nn.init.constant_(head[-1].bias[2:4], -1.0)  # about 2.7 strides wide
        centres, strides = [], []
        for s in STRIDES:
            n = -(-imgsz // s)
            ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
            centres.append(torch.stack([xs.flatten(), ys.flatten()]).float() * s + s / 2)
            strides.append(torch.full((1, n * n), float(s)))
        self.register_buffer("centres", torch.cat(centres, 1))  # [2, N] input pixels
        self.register_buffer("strides", torch.cat(strides, 1))  # [1, N]

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 4 + C, N] logits before decoding (training uses these)."""
        p3 = self.c3(self.stem(x))
        p4 = self.c4(p3)
        p5 = self.c5(p4)
        n4 = self.top4(torch.cat([self.up(p5), p4], 1))
        n3 = self.top3(torch.cat([self.up(n4), p3], 1))
        m4 = self.out4(torch.cat([self.down4(n3), n4], 1))
        m5 = self.out5(torch.cat([self.down5(m4), p5], 1))
        return torch.cat([h(f).flatten(2) for h, f in zip(self.heads, (n3, m4, m5), strict=True)], 2)

    def decode_cxcywh(self, raw: torch.Tensor, centres: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
        """Logits [B, 4 + C, n] → normalised (cx, cy, w, h) and scores, for anchors ``centres``/``strides``."""
        unit = strides / self.imgsz
        cxcy = centres / self.imgsz + (torch.sigmoid(raw[:, :2]) - 0.5) * (2 * OFFSET_REACH) * unit
        wh = torch.sigmoid(raw[:, 2:4]) * (SIZE_REACH * unit)
        return torch.cat([cxcy, wh, torch.sigmoid(raw[:, 4:])], 1)

    def decode(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits → (xyxy in input pixels [B, 4, N], class scores [B, C, N]) for training."""
        out = self.decode_cxcywh(raw, self.centres, self.strides)
        cxcy, wh = out[:, :2] * self.imgsz, out[:, 2:4] * self.imgsz
        return torch.cat([cxcy - wh / 2, cxcy + wh / 2], 1), out[:, 4:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.raw(x)
        outputs, start = [], 0
        for s in STRIDES:
            # Decoded level by level: each level's tensors get int8 ranges of their own.
            end = start + (-(-self.imgsz // s)) ** 2
            outputs.append(
                self.decode_cxcywh(
                    raw[:, :, start:end], self.centres[:, start:end], self.strides[:, start:end]
                )
            )
            start = end
        return torch.cat(outputs, 2)
