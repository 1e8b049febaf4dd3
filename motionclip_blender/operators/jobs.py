"""Long work off Blender's main thread, its result applied on the main thread.

A job's `work` runs in a worker thread and must not touch `bpy`; it reports progress and checks
for cancellation through the Progress it is given. Its `apply` runs on the main thread, from a
`bpy.app.timers` callback that drains a queue, and is the only place that writes Blender data; an
undo step is pushed after it so the user can undo what it added. In background mode (command-line
Blender, scripts, tests) there is no event loop to drain the queue: jobs run to completion inside
`submit`, so scripts can use the result at once.

Jobs belong to the file and the state they started in: loading a file forgets them, and an undo
or redo while they work cancels them (see `HANDLERS`).

Outcomes are words, never tracebacks: a MotionClipError's message, "cancelled", or the message
`apply` returns. With the UI they are kept for the panel (and errors pop up); in background mode
`submit` returns the outcome to the operator, which reports it.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bpy

from ..core.errors import MotionClipError

POLL_SECONDS = 0.1


class Cancelled(Exception):
    """Raised inside work when the user pressed cancel."""


@dataclass
class Progress:
    """Shared between a worker and the panel: a fraction, a message and the cancel flag."""

    fraction: float = 0.0
    message: str = ""
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def update(self, fraction: float, message: str) -> None:
        """Report progress; raises Cancelled when the user asked to stop."""
        if self.cancel_requested.is_set():
            raise Cancelled
        self.fraction, self.message = fraction, message

    def counter(self, start: float, end: float, message: str) -> Callable[[int, int], None]:
        """A progress(done, total) callback for core's loops: fraction start..end, the message
        with 'done/total' appended; it raises Cancelled like update."""

        def report(done: int, total: int) -> None:
            self.update(start + (end - start) * done / total, f"{message} ({done}/{total})")

        return report


@dataclass(frozen=True)
class Outcome:
    level: str  # 'INFO', 'WARNING' or 'ERROR', as Operator.report takes them
    message: str


_numbers = itertools.count(1)


@dataclass
class Job:
    """A named piece of work, and what to do on the main thread with its result.

    work(progress) -> result runs without bpy; apply(result) -> message writes Blender data;
    discard(), when given, runs on the main thread instead when the result is not applied (an
    error or a cancel), to remove what the operator made before the work (a new rig), and says
    whether it removed anything. rig: the session_uid of the rig the result goes on, if any.
    """

    name: str
    work: Callable[[Progress], Any]
    apply: Callable[[Any], str]
    discard: Callable[[], bool] | None = None  # undoes what the operator made up front
    rig: int | None = None
    progress: Progress = field(default_factory=Progress)
    number: int = field(default_factory=lambda: next(_numbers))  # for a Cancel of this job alone


_results: queue.Queue[tuple[Job, Any, BaseException | None]] = queue.Queue()
_running: list[Job] = []
messages: deque[Outcome] = deque(maxlen=5)  # latest outcomes, newest last, for the panel


def running() -> list[Job]:
    """Jobs submitted and not yet applied, for the panel to show."""
    return list(_running)


def synchronous() -> bool:
    """Whether jobs run inside `submit`: in background mode, where no timer would ever fire."""
    return bool(bpy.app.background)


def submit(job: Job) -> Outcome | None:
    """Run `job`. Background mode: at once, returning its outcome. UI: in a worker thread."""
    if synchronous():
        return _finish(job, *_run(job))[0]
    _running.append(job)
    threading.Thread(target=lambda: _results.put((job, *_run(job))), daemon=True).start()
    if not bpy.app.timers.is_registered(_drain):
        bpy.app.timers.register(_drain, first_interval=POLL_SECONDS)
    return None


def cancel_all() -> None:
    """Ask every running job to stop at its next progress report."""
    for job in _running:
        job.progress.cancel_requested.set()


def cancel(number: int) -> None:
    """Ask the running job of that number, if it still runs, to stop at its next report."""
    for job in _running:
        if job.number == number:
            job.progress.cancel_requested.set()


def shutdown() -> None:
    """When the add-on is disabled: remove what the running jobs' operators made up front (a new
    rig, left empty otherwise), then forget the jobs (_forget)."""
    forgotten = list(_running)
    _forget()  # first: a rig is kept while a running job still targets it, and none will now
    discarded = [job.discard() for job in forgotten if job.discard is not None]
    if any(discarded):  # else the user's next undo would bring the rig back
        with contextlib.suppress(RuntimeError):  # no undo stack (Blender quitting, say)
            bpy.ops.ed.undo_push(message="MotionCLIP: disabled while working")


def _forget() -> None:
    """Cancel every running job and forget it, so that nothing is written into the file once
    the add-on is gone or another file is loaded, and stop polling; the reports go too."""
    cancel_all()
    messages.clear()
    _running.clear()
    while not _results.empty():
        _results.get_nowait()
    if bpy.app.timers.is_registered(_drain):
        bpy.app.timers.unregister(_drain)


@bpy.app.handlers.persistent
def _forget_on_load(*_args: object) -> None:
    """Before another file loads (Open, Revert, New): the jobs' rigs are the closing file's, so
    nothing they make may land in the next one, on a rig that happens to have the same name."""
    _forget()


@bpy.app.handlers.persistent
def _cancel_on_undo(*_args: object) -> None:
    """Undo or redo while jobs work (Ctrl-Z, or a value changed in Adjust Last Operation, which
    undoes the operator and runs it again): the state their results were meant for is gone."""
    cancel_all()


HANDLERS = (
    (bpy.app.handlers.load_pre, _forget_on_load),
    (bpy.app.handlers.undo_pre, _cancel_on_undo),
    (bpy.app.handlers.redo_pre, _cancel_on_undo),
)


def add_handlers() -> None:
    """Watch for file loads, undo and redo, as the add-on is enabled."""
    for handlers, handler in HANDLERS:
        if handler not in handlers:
            handlers.append(handler)


def remove_handlers() -> None:
    """Stop watching, as the add-on is disabled."""
    for handlers, handler in HANDLERS:
        if handler in handlers:
            handlers.remove(handler)


def _run(job: Job) -> tuple[Any, BaseException | None]:
    try:
        return job.work(job.progress), None
    except Exception as error:  # handed to the main thread, which reports it
        return None, error


def _finish(job: Job, result: Any, error: BaseException | None) -> tuple[Outcome, bool]:
    """On the main thread: apply the result, or put the error in words and discard. Also whether
    Blender data changed (a result applied, or something discarded)."""
    outcome = _applied(job, result, error)
    if outcome.level == "INFO":
        return outcome, True
    return outcome, job.discard is not None and job.discard()


def _applied(job: Job, result: Any, error: BaseException | None) -> Outcome:
    """Apply the result unless the work failed or the user cancelled after its last check."""
    if error is None and job.progress.cancel_requested.is_set():
        error = Cancelled()
    if error is None:
        try:
            return Outcome("INFO", job.apply(result))
        except Exception as apply_error:  # reported in words below, never out of a timer
            error = apply_error
    if isinstance(error, Cancelled):
        return Outcome("WARNING", f"{job.name}: cancelled")
    if isinstance(error, MotionClipError):
        return Outcome("ERROR", f"{job.name}: {error}")
    traceback.print_exception(error)
    return Outcome("ERROR", f"{job.name} failed unexpectedly: {error} (details in the console)")


def _drain() -> float | None:
    """Timer callback: apply finished jobs, show outcomes, stop polling when nothing runs."""
    while True:
        try:
            job, result, error = _results.get_nowait()
        except queue.Empty:
            break
        if job not in _running:  # forgotten by shutdown
            continue
        _running.remove(job)
        outcome, changed = _finish(job, result, error)
        messages.append(outcome)
        if changed:  # a discard too: else an undo would bring back the rig it removed
            bpy.ops.ed.undo_push(message=f"MotionCLIP: {job.name}")
        if outcome.level == "ERROR":
            _popup(outcome.message)
    _redraw_sidebars()
    return POLL_SECONDS if _running else None


def _popup(message: str) -> None:
    def draw(menu: bpy.types.UIPopupMenu, _context: bpy.types.Context) -> None:
        if menu.layout is not None:
            menu.layout.label(text=message)

    window_manager = bpy.context.window_manager
    if window_manager is not None:
        window_manager.popup_menu(draw, title="MotionCLIP", icon="ERROR")


def _redraw_sidebars() -> None:
    window_manager = bpy.context.window_manager
    for window in window_manager.windows if window_manager is not None else []:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()
