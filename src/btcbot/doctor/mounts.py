"""Which filesystem holds a path (Linux ``/proc/self/mountinfo``), so the doctor can refuse kernel interfaces.

Permission bits cannot tell that ``/proc`` or ``/sys`` is no place for a database: as root every directory
looks writable. The filesystem type can.
"""

from __future__ import annotations

from pathlib import Path

# Kernel and device interfaces: files there are not storage, and most refuse to create a regular file at all.
PSEUDO_FILESYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "sysfs",
        "tracefs",
    }
)

MOUNTINFO = Path("/proc/self/mountinfo")


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in paths as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def filesystem_type(path: Path, mountinfo: Path = MOUNTINFO) -> str | None:
    """The type of the filesystem mounted closest above ``path`` (absolute, resolved); None if unknown."""
    try:
        text = mountinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None  # not Linux, or /proc is not mounted: nothing to tell
    best: tuple[int, str] | None = None
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if len(fields) <= sep + 1:
            continue
        mount_point = Path(_unescape(fields[4]))
        if path == mount_point or path.is_relative_to(mount_point):
            depth = len(mount_point.parts)
            # Later lines win at equal depth: a mount over a mount point hides the earlier one.
            if best is None or depth >= best[0]:
                best = (depth, fields[sep + 1])
    return best[1] if best else None


def pseudo_filesystem(path: Path, mountinfo: Path = MOUNTINFO) -> str | None:
    """The pseudo-filesystem type holding ``path``, or None when it is ordinary storage (or cannot be told)."""
    fstype = filesystem_type(path, mountinfo)
    return fstype if fstype in PSEUDO_FILESYSTEMS else None
