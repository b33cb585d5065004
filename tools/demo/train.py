"""Train the demo detector on synthetic scenes, on the CPU, in a few minutes; export it as a ``.pt2``.

Training images go through edgecv's own :class:`~edgecv.detect.preprocess.Preprocessor` (letterbox, RGB), so
the model learns on the pixels ``edgecv run`` feeds it. Assignment is FCOS-like (anchor centres inside a box
and near its centre); the class target of a positive anchor is the IoU of its predicted box, so scores rank
boxes by quality, which is what mAP50-95 rewards.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from model import STRIDES, DemoDetector
from scenes import CLASSES, scene

from edgecv.detect.preprocess import InputSpec, Preprocessor

TRAIN_SEED = 1_000_000  # far from the calibration/validation seeds tools/demo/make_demo.py uses
CENTRE_RADIUS = 2.5  # strides: an anchor this close to a box centre (and inside it) may predict it
EDGE_WEIGHT = 0.1  # keeps every anchor's decoded centre inside the image, so the int8 output spans ~[0, 1]


def make_dataset(count: int, imgsz: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """uint8 RGB letterboxed images [count, S, S, 3] and per-image (class, x1, y1, x2, y2) in input pixels."""
    # scale 1/255 with mean 0 / std 255 is the identity on bytes: the buffer holds the letterboxed RGB pixels.
    spec = InputSpec(imgsz, imgsz, np.dtype(np.uint8), scale=1 / 255, zero_point=0)
    pre = Preprocessor(spec)
    images = np.empty((count, imgsz, imgsz, 3), np.uint8)
    targets = []
    rng = np.random.default_rng(seed)
    for k in range(count):
        width = int(rng.choice([320, 400, 480]))
        height = int(width * rng.choice([0.75, 0.5625, 1.0]))
        image, boxes, classes = scene(seed + k, width, height)
        # A fresh buffer per image: the Preprocessor fills letterbox borders once per buffer it has seen.
        images[k], t = pre(image)
        mapped = boxes.copy()
        mapped[:, 0::2] = boxes[:, 0::2] * t.scale_x + t.pad_x
        mapped[:, 1::2] = boxes[:, 1::2] * t.scale_y + t.pad_y
        targets.append(np.concatenate([classes[:, None].astype(np.float32), mapped], 1))
    return images, targets


def box_iou_pairs(a: torch.Tensor, b: torch.Tensor, giou: bool = False) -> torch.Tensor:
    """IoU (or GIoU) of matching rows of two [K, 4] xyxy tensors."""
    lt, rb = torch.max(a[:, :2], b[:, :2]), torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    union = (a[:, 2:] - a[:, :2]).prod(1) + (b[:, 2:] - b[:, :2]).prod(1) - inter
    iou = inter / union.clamp(min=1e-6)
    if not giou:
        return iou
    hull = (torch.max(a[:, 2:], b[:, 2:]) - torch.min(a[:, :2], b[:, :2])).prod(1).clamp(min=1e-6)
    return iou - (hull - union) / hull


def assign(model: DemoDetector, target: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per anchor: index of its ground-truth box (-1 for background). Smallest box wins a shared anchor."""
    n = model.centres.shape[1]
    owner = torch.full((n,), -1, dtype=torch.long)
    if len(target) == 0:
        return owner, torch.zeros((0, 5))
    gt = torch.from_numpy(target)
    cx, cy = model.centres
    stride = model.strides[0]
    x1, y1, x2, y2 = gt[:, 1:].T[:, :, None]
    inside = (cx > x1) & (cx < x2) & (cy > y1) & (cy < y2)
    near = ((cx - (x1 + x2) / 2).abs() < CENTRE_RADIUS * stride) & (
        (cy - (y1 + y2) / 2).abs() < CENTRE_RADIUS * stride
    )
    # Each level answers for boxes its receptive field and reach suit: side up to 8 strides, at least 1.
    side = torch.max(x2 - x1, y2 - y1)
    fits = (side <= 8 * stride) & (side >= stride) | ((stride == STRIDES[0]) & (side < stride))
    candidate = inside & near & fits
    area = ((x2 - x1) * (y2 - y1)).expand(-1, n)
    cost = torch.where(candidate, area, torch.full_like(area, float("inf")))
    best_cost, best = cost.min(0)
    owner[best_cost.isfinite()] = best[best_cost.isfinite()]
    return owner, gt


def loss_fn(model: DemoDetector, raw: torch.Tensor, targets: list[np.ndarray]) -> tuple[torch.Tensor, float]:
    xyxy, scores = model.decode(raw)
    logits = raw[:, 4:]
    cls_target = torch.zeros_like(scores)
    box_losses, positives = [], 0
    for b, target in enumerate(targets):
        owner, gt = assign(model, target)
        pos = owner >= 0
        if not pos.any():
            continue
        matched = gt[owner[pos]]
        pred = xyxy[b, :, pos].T
        giou = box_iou_pairs(pred, matched[:, 1:], giou=True)
        box_losses.append((1 - giou).sum())
        iou = box_iou_pairs(pred.detach(), matched[:, 1:]).clamp(min=0.05)
        cls_target[b, matched[:, 0].long(), pos.nonzero()[:, 0]] = iou
        positives += int(pos.sum())
    norm = max(positives, 1)
    # Background anchors are otherwise free to point outside the image; the int8 output's scale is set by
    # the widest value calibration sees, so an off-image centre would coarsen every box (in strides).
    cxcy = model.decode_cxcywh(raw)[:, :2]
    edge = ((F.relu(-cxcy) + F.relu(cxcy - 1)) / model.gain[:2]).sum() / norm
    cls_loss = F.binary_cross_entropy_with_logits(logits, cls_target, reduction="sum") / norm
    box_loss = torch.stack(box_losses).sum() / norm if box_losses else raw.sum() * 0
    return cls_loss + 2.5 * box_loss + EDGE_WEIGHT * edge, positives / len(targets)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)  # the machine is shared; one thread keeps training polite
    started = time.time()
    images, targets = make_dataset(args.images, args.imgsz, TRAIN_SEED)
    print(f"dataset: {len(images)} images in {time.time() - started:.0f} s", flush=True)
    model = DemoDetector(len(CLASSES), args.imgsz, args.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    rng = np.random.default_rng(0)
    model.train()
    for step in range(args.steps):
        lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        if step < 100:
            lr *= (step + 1) / 100  # warm-up: BatchNorm statistics settle before large steps
        for group in optimizer.param_groups:
            group["lr"] = lr
        pick = rng.choice(len(images), args.batch, replace=False)
        batch = torch.from_numpy(images[pick]).permute(0, 3, 1, 2).float() / 255
        batch_targets = [targets[i].copy() for i in pick]
        flip = rng.random(args.batch) < 0.5
        for i in np.flatnonzero(flip):
            batch[i] = batch[i].flip(-1)
            t = batch_targets[i]
            t[:, [1, 3]] = args.imgsz - t[:, [3, 1]]
        loss, pos = loss_fn(model, model.raw(batch), batch_targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(
                f"step {step:5d}  loss {loss.item():.3f}  pos/img {pos:.1f}  lr {lr:.5f}  "
                f"{time.time() - started:.0f} s",
                flush=True,
            )
    model.eval()
    export(model, args.output, args.imgsz)


def export(model: DemoDetector, output: Path, imgsz: int) -> None:
    """``torch.export`` program with edgecv metadata carried inside (names, input size, normalisation)."""
    program = torch.export.export(model, (torch.zeros(1, 3, imgsz, imgsz),))
    meta = {
        "names": list(CLASSES),
        "imgsz": [imgsz, imgsz],
        "family": "yolov8",
        "color_order": "rgb",
        "input_mean": [0.0, 0.0, 0.0],
        "input_std": [255.0, 255.0, 255.0],
        "resize": "letterbox",
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(output), extra_files={"edgecv_meta.json": json.dumps(meta)})
    print(f"exported {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=Path("build/demo/demo.pt2"))
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--threads", type=int, default=1)
    train(parser.parse_args())


if __name__ == "__main__":
    main()
