"""Device health for the stats topic: CPU temperature, read the way the kernel exposes it."""

from __future__ import annotations

from pathlib import Path

THERMAL = Path("/sys/class/thermal")
# Zone types that are the SoC/CPU on a Raspberry Pi, Jetson, Rockchip and x86 boards.
CPU_ZONE_TYPES = ("cpu", "soc", "x86_pkg_temp", "cpu-thermal", "cpu_thermal", "tcpu", "acpitz")


def find_cpu_zone(root: Path = THERMAL) -> Path | None:
    """The thermal zone of the CPU, else the first zone with a readable temperature, else None."""
    zones = sorted(root.glob("thermal_zone*")) if root.is_dir() else []
    readable = [z for z in zones if (z / "temp").is_file()]
    for zone in readable:
        try:
            kind = (zone / "type").read_text().strip().lower()
        except OSError:
            continue
        if any(kind.startswith(t) for t in CPU_ZONE_TYPES):
            return zone
    return readable[0] if readable else None


def read_temp_c(zone: Path | None) -> float | None:
    if zone is None:
        return None
    try:
        return round(int((zone / "temp").read_text().strip()) / 1000.0, 1)  # millidegrees
    except (OSError, ValueError):
        return None
