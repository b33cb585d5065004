"""edgecv's own definitions of the YOLO building blocks a checkpoint pickle names.

The allow-listed unpickler (:mod:`.unpickler`) maps ``models.common.Conv``, ``ultralytics.nn.modules.block.C2f``
and the rest to these classes: the pickle only restores their attributes (sub-modules, weights, flags such as
``add`` or ``c``), and the ``forward`` that runs is the one written here, the same arithmetic as upstream's
inference path. No constructor runs: unpickling an ``nn.Module`` calls ``__new__`` and ``__setstate__`` only,
so these classes need no ``__init__`` of their own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv(nn.Module):
    """Conv2d, BatchNorm2d (absent once fused), activation: YOLOv5's and Ultralytics' ``Conv``."""

    conv: nn.Conv2d
    act: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self._modules.get("bn")
        y = self.conv(x)
        return self.act(bn(y) if bn is not None else y)

    def fuse(self) -> None:
        """Fold the batch norm into the convolution (float32), as every export does before converting."""
        bn = self._modules.get("bn")
        if not isinstance(bn, nn.BatchNorm2d):
            return
        conv = self.conv
        assert bn.running_var is not None and bn.running_mean is not None
        scale = bn.weight.detach().float() / torch.sqrt(bn.running_var.float() + bn.eps)
        weight = conv.weight.detach().float() * scale.reshape(-1, 1, 1, 1)
        bias = conv.bias.detach().float() if conv.bias is not None else torch.zeros_like(scale)
        bias = (bias - bn.running_mean.float()) * scale + bn.bias.detach().float()
        fused = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]  # a tuple; nn.Conv2d's stubs want int-or-tuple
            conv.stride,  # type: ignore[arg-type]  # same
            conv.padding,  # type: ignore[arg-type]  # same (a tuple or "same"/"valid")
            conv.dilation,  # type: ignore[arg-type]  # same
            conv.groups,
            bias=True,
        )
        fused.weight.data.copy_(weight)
        assert fused.bias is not None
        fused.bias.data.copy_(bias)
        self.conv = fused
        del self._modules["bn"]


class DWConv(Conv):
    """Depthwise ``Conv`` (Ultralytics): the same forward, a grouped convolution inside."""


class Bottleneck(nn.Module):
    cv1: nn.Module
    cv2: nn.Module
    add: bool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """CSP bottleneck with three convolutions (YOLOv5, and Ultralytics' C3 / C3k)."""

    cv1: nn.Module
    cv2: nn.Module
    cv3: nn.Module
    m: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    """YOLO11's C3 with a custom kernel size: only the bottlenecks inside differ."""


class C2f(nn.Module):
    """YOLOv8's CSP block with two convolutions; YOLO11's ``C3k2`` runs the same forward."""

    cv1: nn.Module
    cv2: nn.Module
    m: nn.ModuleList

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for block in self.m:
            y.append(block(y[-1]))
        return self.cv2(torch.cat(y, 1))


class C3k2(C2f):
    pass


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: one max-pool applied ``n`` (3) times in series."""

    cv1: nn.Module
    cv2: nn.Module
    m: nn.Module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        for _ in range(int(self.__dict__.get("n", 3))):
            y.append(self.m(y[-1]))
        out = self.cv2(torch.cat(y, 1))
        # Recent Ultralytics versions may add a residual; older pickles have no such attribute.
        return out + x if bool(self.__dict__.get("add", False)) else out


class Concat(nn.Module):
    d: int

    def forward(self, x: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(x, self.d)


class Attention(nn.Module):
    """YOLO11's multi-head self-attention over a feature map (inside ``PSABlock``)."""

    qkv: nn.Module
    proj: nn.Module
    pe: nn.Module
    num_heads: int
    key_dim: int
    head_dim: int
    scale: float

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = h * w
        qkv = self.qkv(x)
        q, k, v = qkv.view(b, self.num_heads, self.key_dim * 2 + self.head_dim, n).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2
        )
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        y = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(y)


class PSABlock(nn.Module):
    attn: nn.Module
    ffn: nn.Module
    add: bool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x) if self.add else self.attn(x)
        return x + self.ffn(x) if self.add else self.ffn(x)


class C2PSA(nn.Module):
    """YOLO11's CSP block with position-sensitive attention."""

    cv1: nn.Module
    cv2: nn.Module
    m: nn.Module
    c: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class DFL(nn.Module):
    """Distribution focal loss integral: expected distance over ``c1`` bins (weights 0..c1-1)."""

    conv: nn.Conv2d
    c1: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Upsample(nn.Upsample):
    """``torch.nn.Upsample`` whose forward does not depend on attributes older pickles lack.

    Modules pickled under torch < 1.11 have no ``recompute_scale_factor``; torch's own forward then fails.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            x,
            size=self.__dict__.get("size"),
            scale_factor=self.__dict__.get("scale_factor"),
            mode=str(self.__dict__.get("mode", "nearest")),
        )
