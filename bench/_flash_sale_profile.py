"""Where the server's time goes, from py-spy's collapsed stacks (`py-spy record -f raw`, one `a;b;c count` a line).

Self time is charged to the innermost frame's package; inclusive time counts a stack once for every Pond function
(or library) anywhere in it. Samples are of the busy main thread only (py-spy skips idle threads), so busy share =
samples / (rate x seconds).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bench._harness import REPO

_THREAD = re.compile(r"^thread \((?:0x)?[0-9A-Fa-f]+\)")  # py-spy --threads: `thread (<id>): <name>` first
POND_PACKAGES = {f"pond:{name}" for name in ("domain", "resolvers", "schema", "payments", "server", "wechat")}
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_SITE = re.compile(r"/(?:site|dist)-packages/(?P<pkg>[^/]+)")
_STDLIB = re.compile(r"/lib/python3\.\d+/(?P<mod>[^/]+)")


def _where(path: str) -> str:
    """A package name: `pond:<dir>` for Pond's code, the distribution's top-level name, or `stdlib:<module>`."""
    site = _SITE.search(path)
    if site:
        return site.group("pkg").removesuffix(".py").split(".")[0]
    if path.startswith(str(REPO)) or not path.startswith("/"):
        relative = path.removeprefix(str(REPO)).lstrip("/")
        return f"pond:{relative.split('/')[0].removesuffix('.py')}"
    stdlib = _STDLIB.search(path)
    return f"stdlib:{stdlib.group('mod').removesuffix('.py')}" if stdlib else path


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        found = _FRAME.match(part.strip())
        frames.append((found.group("func"), found.group("file")) if found else (part.strip(), ""))
    return frames


def print_profile(path: Path | None, what: str, seconds: float, attempts: int, rate: int, top: int = 16) -> None:
    if path is None or not path.exists():
        return
    by_thread: dict[str, list[tuple[list[tuple[str, str]], int]]] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        first, _, rest = stack.partition(";")
        thread = first if _THREAD.match(first) else "?"
        by_thread.setdefault(thread, []).append((_frames(rest if thread != "?" else stack), int(count)))
    # the event loop's thread is the one running uvicorn; the others are executor threads waiting on their queue
    # (py-spy does not always see that wait as idle)
    main = max(by_thread, key=lambda t: sum(n for frames, n in by_thread[t]
                                           if any("uvicorn" in f for _, f in frames)), default=None)
    stacks = by_thread.get(main, []) if main is not None else []
    total = sum(count for _, count in stacks)
    if not total:
        print(f"profile {path}: no samples")
        return
    others = sum(n for t, rows in by_thread.items() if t != main for _, n in rows)
    busy = total / (rate * seconds)
    print(f"profile of the server during {what} ({path}: {total} samples of the event loop's "
          f"thread at {rate}/s over {seconds:g}s, busy {100 * busy:.0f}% of the time; {others} samples of other "
          "threads left out)")
    if attempts:
        print(f"  about {1000 * busy * seconds / attempts:.2f} ms of the event loop's time per attempt "
              f"({attempts} answered during the recording, slowed by the sampling)")
    own: Counter[str] = Counter()
    own_funcs: Counter[str] = Counter()
    inclusive_pkg: Counter[str] = Counter()
    inclusive_pond: Counter[str] = Counter()
    for frames, samples in stacks:
        func, file = frames[-1]
        own[_where(file)] += samples
        own_funcs[f"{func} ({_short(file)})"] += samples
        for pkg in {_where(f) for _, f in frames}:
            inclusive_pkg[pkg] += samples
        for name in {f"{fn} ({_short(f)})" for fn, f in frames if _where(f) in POND_PACKAGES}:
            inclusive_pond[name] += samples

    def show(title: str, counter: Counter[str], rows: int = top) -> None:
        print(f"  {title}")
        for name, count in counter.most_common(rows):
            print(f"    {100 * count / total:5.1f}%  {name}")

    show("self time by package (innermost frame)", own)
    show("self time by function", own_funcs)
    show("inclusive time by package (stacks that pass through it)", inclusive_pkg)
    show("inclusive time by Pond function (those under every sample left out)",
         Counter({name: n for name, n in inclusive_pond.items() if n < total}), 2 * top)


def _short(path: str) -> str:
    site = _SITE.search(path)
    if site:
        return path[site.start() + 1:].split("/", 1)[1]
    return path.removeprefix(str(REPO)).lstrip("/")
