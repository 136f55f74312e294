"""The lab in real time: its clock follows the wall clock, one bounded slice at a time.

One lock owns the lab. A pacing thread runs the simulator so that lab time
follows wall time x speed (``Pacer``), in slices bounded in events and in
wall time, and releases the lock between slices: no session ever waits for
the lab longer than one slice, whatever the simulator is doing.

Every typed line runs under the same lock (``PacedLab.begin``). A long
command (ping) is a job (``emulator.sim.jobs``): the pacer steps it where its
wait ends on the lab clock, and its output waits in the command's ``Running``
for the terminal, which takes it between slices and shows it as it comes
(``Running.changed`` tells it there is some). A job whose terminal does not
take its output (stopped at ``--More--``) waits for it past BACKLOG
characters, as IOS holds a command while its output is paged. A terminal breaks a job off
with ``interrupt`` (Ctrl-Shift-6, Ctrl-C) or drops it with ``cancel`` (the
client went away).

If the simulator fails (``EmulatorFault``, or any exception), the lab clock
stops for good: the fault is logged, the running commands end with one line
saying so, and every later command prints that line (``exit`` still leaves).
The sessions keep answering, and the lab still stops cleanly.

A lab with external ports (``Lab.external``: UDP pseudo-wires, TUN and TAP
devices) has the pacing thread wait on their file descriptors with a
selector instead of sleeping: what arrives is taken into the lab (a bounded
number of frames per port and wake-up) at the lab time of the wall clock's
now, so a real peer's packets arrive during a ping as they would on a wire.

``StopSignals`` turns SIGINT and SIGTERM into a request to stop that the
front ends honour within a bounded time, whatever the simulator is doing.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import threading
import time
from typing import Any, Callable

from emulator.cli.session import CTRL_Z, CliSession, SessionClosed
from emulator.lab.labfile import Lab
from emulator.sim.clock import EmulatorFault, to_seconds
from emulator.sim.clock import seconds as lab_seconds
from emulator.sim.jobs import Job, Wait

log = logging.getLogger(__name__)

PACE_MAX_SLEEP = 0.25         # the pacer looks at the clock at least this often
SLICE_EVENTS = 2000           # events (and job steps) one slice runs at most
SLICE_SECONDS = 0.02          # wall seconds one slice runs at most
_CLOCK_EVERY = 16             # events between two looks at the wall clock inside a slice
YIELD_SECONDS = 0.001         # after a slice cut short: the lock is free this long for the sessions
CANCEL_SECONDS = 0.5          # what dropping a command waits at most for the lab lock
BACKLOG = 8192                # characters of output a job may run ahead of its terminal (--More--)
INTERNAL_ERROR = "% Internal error in the emulator (see the server log)\n"
_LEAVE_WORDS = ("exit", "logout", "quit")


class Disconnected(Exception):
    """The client went away, or the lab is stopping."""


class Running:
    """A typed line being run on the paced lab: its job and the output the terminal has not shown yet.

    Its fields change under the lab lock only; ``changed`` is set when output came or it ended.
    """

    def __init__(self, job: Job | None, where: str):
        self.job = job
        self.where = where
        self.outbox: list[str] = []
        self.backlog = 0              # characters in the outbox
        self.ended = job is None or job.done
        self.changed = threading.Event()

    def put(self, text: str) -> None:
        if text:
            self.outbox.append(text)
            self.backlog += len(text)
            self.changed.set()

    def end(self) -> None:
        self.ended = True
        self.changed.set()


class Pacer:
    """Runs a simulator so that its clock follows a wall clock, and steps the jobs waiting on it.

    Call ``step()`` with the lab lock held: it runs one slice, at most ``slice_events`` events and
    job steps and about ``slice_seconds`` of wall time. The anchor (wall, virtual) is set once: if
    something ran the lab ahead of its schedule, ``step`` runs nothing until the wall clock has
    caught up, instead of moving the anchor and leaving the lab ahead for good.

    A job is stepped when its wait ends: the events run one by one while a job waits on a
    predicate, and the clock stops at each job's deadline, so a job sees the lab as in process.
    """

    def __init__(self, sim, speed: float = 1.0, clock: Callable[[], float] = time.monotonic, *,
                 slice_events: int = SLICE_EVENTS, slice_seconds: float = SLICE_SECONDS):
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        self.sim = sim
        self.speed = float(speed)
        self.clock = clock
        self.slice_events = slice_events
        self.slice_seconds = slice_seconds
        self.wall0 = clock()
        self.virt0 = sim.now
        self.jobs: list[Running] = []
        self.cut_short = False        # the last slice stopped at its bounds with more to run
        self._slice_end = 0.0         # perf_counter time at which the current slice ends

    # ------------------------------------------------ wall and lab time
    def target(self, wall: float | None = None) -> int:
        """The lab time (ns) the wall clock (seconds) asks for: the one conversion of wall to lab time."""
        elapsed = ((self.clock() if wall is None else wall) - self.wall0) * self.speed
        return self.virt0 + lab_seconds(elapsed, allow_negative=True)

    def wall_at(self, virtual: int) -> float:
        """The wall time (seconds) at which the lab reaches ``virtual`` ns."""
        return self.wall0 + to_seconds(virtual - self.virt0) / self.speed

    def lead(self, wall: float | None = None) -> float:
        """Lab seconds the lab clock is ahead of the wall clock (0 when not ahead), for sleeping on."""
        return max(0.0, to_seconds(self.sim.now - self.target(wall)))

    # ------------------------------------------------ jobs
    def add(self, running: Running) -> None:
        """Take on a running command: its first step (up to its first wait) runs now, the rest as its
        waits end."""
        if running.ended:
            return
        self.jobs.append(running)
        self._step_job(running)

    def remove(self, running: Running) -> None:
        if running in self.jobs:
            self.jobs.remove(running)

    def _step_job(self, running: Running) -> None:
        job = running.job
        assert job is not None
        try:
            running.put(job.step())
        except Exception:  # noqa: BLE001 - one command's bug ends that command only
            log.exception("%s: a command failed", running.where)
            job.done = True
            running.put(INTERNAL_ERROR)
        if job.done:
            self.remove(running)
            running.end()

    def _resume(self, budget: int) -> int:
        """Step the jobs whose waits are over, at most ``budget`` steps and not past the slice's
        wall-clock end; the steps taken."""
        taken = 0
        for running in list(self.jobs):
            while taken < budget and self._can_step(running) and time.perf_counter() < self._slice_end:
                taken += 1
                self._step_job(running)
        return taken

    def _waiting(self) -> list[Wait]:
        """What the jobs wait for on the lab clock; not those held back by their terminals."""
        return [r.job.waiting for r in self.jobs
                if r.job is not None and r.job.waiting is not None and r.backlog < BACKLOG]

    def _deadline(self) -> int | None:
        deadlines = [wait.deadline for wait in self._waiting()]
        return min(deadlines) if deadlines else None

    def _watching(self) -> bool:
        """Whether a job waits on a predicate, to be looked at after every event."""
        return any(wait.until is not None for wait in self._waiting())

    def _can_step(self, running: Running) -> bool:
        job = running.job
        return job is not None and not running.ended and running.backlog < BACKLOG and job.ready(self.sim)

    # ------------------------------------------------ one slice
    def step(self, wall: float | None = None) -> float | None:
        """Run one slice of what is due; returns the wall time when something is next due (None: idle).

        A slice cut short at its bounds (``cut_short``) returns the wall time of now.
        """
        target = self.target(wall)
        sim = self.sim
        self._slice_end = time.perf_counter() + self.slice_seconds
        done = self._resume(self.slice_events)
        watching = self._watching()
        look = _CLOCK_EVERY
        self.cut_short = True
        while done < self.slice_events:
            deadline = self._deadline()
            stop = target if deadline is None else min(target, deadline)
            nxt = sim.next_event_time()
            if nxt is not None and nxt <= stop:
                sim.step()
                done += 1
                if watching:
                    done += self._resume(self.slice_events - done)
                    watching = self._watching()
                if done >= look:
                    look = done + _CLOCK_EVERY
                    if time.perf_counter() > self._slice_end:
                        break
                continue
            if stop > sim.now:
                sim.run_until(stop)           # nothing due before it: the clock moves on
            stepped = self._resume(self.slice_events - done)
            if not stepped:
                self.cut_short = any(self._can_step(r) for r in self.jobs)
                break
            done += stepped
            watching = self._watching()
        return self.clock() if self.cut_short else self._due()

    def _due(self) -> float | None:
        nxt = self.sim.next_event_time()
        deadline = self._deadline()
        if deadline is not None:
            nxt = deadline if nxt is None else min(nxt, deadline)
        return None if nxt is None else self.wall_at(max(nxt, self.sim.now))


class PacedLab:
    """A lab on a real-time clock: the lock, the pacing thread, the commands' jobs, the fault."""

    def __init__(self, lab: Lab, speed: float = 1.0):
        self.lab = lab
        self.lock = threading.RLock()
        self.pacer = Pacer(lab.sim, speed)
        self.stopping = threading.Event()
        self.fault: str | None = None
        self._wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.ports = list(getattr(lab, "external", []))     # external ports, serviced by the pacing thread
        self._selector: selectors.BaseSelector | None = None
        self._wake_pipe: tuple[int, int] | None = None

    # ------------------------------------------------ life cycle
    def start(self) -> "PacedLab":
        with self.lock:
            self.pacer = Pacer(self.lab.sim, self.pacer.speed)     # the lab clock starts from now
        if self.ports and self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._wake_pipe = os.pipe()
            os.set_blocking(self._wake_pipe[0], False)
            os.set_blocking(self._wake_pipe[1], False)
            self._selector.register(self._wake_pipe[0], selectors.EVENT_READ, None)
            for port in self.ports:
                self._selector.register(port.fileno(), selectors.EVENT_READ, port)
        self.thread = threading.Thread(target=self._loop, name="lab-pacer", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the pacing thread; waits at most ``timeout`` seconds (a stuck simulator is left behind)."""
        self.stopping.set()
        self._wake.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
            if self.thread.is_alive():
                log.warning("the lab simulation did not stop within %.1f s; leaving it", timeout)
                return
        if self._selector is not None and self._wake_pipe is not None:
            self._selector.close()
            for fd in self._wake_pipe:
                os.close(fd)
            self._selector, self._wake_pipe = None, None

    def close_lab(self, timeout: float = 1.0) -> None:
        """Close the lab (its captures) once the simulator lets go of it, or leave it open after ``timeout``."""
        if self.lock.acquire(timeout=timeout):
            try:
                self.lab.close()
            finally:
                self.lock.release()
        else:
            log.warning("the lab is still busy; its captures are not closed")

    def wake(self) -> None:
        """Tell the pacer that something may be due sooner than it thought."""
        self._wake.set()
        if self._wake_pipe is not None:
            try:
                os.write(self._wake_pipe[1], b"!")
            except (BlockingIOError, OSError):
                pass                                  # already awake, or stopping

    def _loop(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                due = self._slice()
                cut = self.pacer.cut_short and self.fault is None
            if cut:
                time.sleep(YIELD_SECONDS)             # the lock is free for a moment: sessions get their turn
                if self._selector is not None:
                    self._service_ports(0)
                continue
            delay = PACE_MAX_SLEEP if due is None else min(max(due - time.monotonic(), 0.0), PACE_MAX_SLEEP)
            if self._selector is not None:
                self._service_ports(max(delay, YIELD_SECONDS))
            elif delay <= 0:
                time.sleep(YIELD_SECONDS)
            elif self._wake.wait(delay):
                self._wake.clear()

    def _service_ports(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the external ports (or a wake-up); take what came into the lab
        at the lab time of now. With the lab clock stopped, what comes is read and dropped."""
        selector = self._selector
        assert selector is not None
        for key, _ in selector.select(timeout):
            port = key.data
            if port is None:
                try:
                    while os.read(key.fd, 512):
                        pass
                except (BlockingIOError, OSError):
                    pass
                self._wake.clear()
                continue
            with self.lock:
                if self.fault is not None:
                    port.drain()
                    continue
                self._slice()                         # the lab clock at the wall clock's now first
                try:
                    port.service()
                except Exception as err:  # noqa: BLE001 - the lab stops; the server goes on
                    self._failed(err)

    def _slice(self) -> float | None:
        """One slice under the lock held; a failure of the simulator stops the lab clock."""
        if self.fault is not None:
            return None
        try:
            return self.pacer.step()
        except Exception as err:  # noqa: BLE001 - the lab stops; the server goes on
            self._failed(err)
            return None

    def _failed(self, err: Exception) -> None:
        if isinstance(err, EmulatorFault):
            text = str(err)
            log.error("the lab clock is stopped: %s", text)
        else:
            text = f"{type(err).__name__}: {err}"
            log.exception("the lab clock is stopped: the simulation failed")
        prefix = "emulator fault: "
        self.fault = text[len(prefix):] if text.lower().startswith(prefix) else text
        for running in list(self.pacer.jobs):
            if running.job is not None:
                running.job.close()
            running.put(self.fault_line())
            running.end()
        self.pacer.jobs.clear()

    def fault_line(self) -> str:
        return f"% Emulator fault: {self.fault}; the lab clock is stopped\n"

    # ------------------------------------------------ commands
    def begin(self, cli: CliSession, line: str, where: str) -> Running:
        """Start a typed line on ``cli``; its output comes in the returned Running.

        Raises SessionClosed if the session had ended.
        """
        with self.lock:
            if self.fault is not None and not self._may_run_faulted(cli, line):
                running = Running(None, where)
                running.put(self.fault_line())
                return running
            self._slice()                         # the command sees the lab at the time of now
            try:
                running = Running(cli.start(line), where)
            except SessionClosed:
                raise
            except Exception:  # noqa: BLE001 - an emulator bug must not end the server
                log.exception("%s: %r failed", where, line)
                running = Running(None, where)
                running.put(INTERNAL_ERROR)
                return running
            if self.fault is None:
                self.pacer.add(running)
            elif running.job is not None:          # only leaving runs while the clock is stopped
                running.put(running.job.step())
                running.job.close()
                running.end()
        self.wake()
        return running

    @staticmethod
    def _may_run_faulted(cli: CliSession, line: str) -> bool:
        """With the lab clock stopped, empty lines and leaving the session still work."""
        words = line.split()
        if not words:
            return not cli.in_dialog
        return (cli.config is None and not cli.in_dialog and len(words) == 1
                and any(w.startswith(words[0].lower()) for w in _LEAVE_WORDS))

    def take(self, running: Running) -> tuple[str, bool]:
        """The output that came since the last take, and whether the command has ended."""
        with self.lock:
            text = "".join(running.outbox)
            if running.backlog >= BACKLOG:
                self.wake()                           # its job may go on
            running.outbox.clear()
            running.backlog = 0
            running.changed.clear()
            if running.ended:
                running.changed.set()
            return text, running.ended

    def interrupt(self, running: Running) -> None:
        """Break the command off (IOS's escape sequence): it prints what it prints on the way out."""
        with self.lock:
            if running.ended or running.job is None:
                return
            self.pacer.remove(running)
            try:
                running.put(running.job.interrupt())
            except Exception:  # noqa: BLE001
                log.exception("%s: a command failed while broken off", running.where)
                running.put(INTERNAL_ERROR)
            running.end()

    def cancel(self, running: Running, timeout: float = CANCEL_SECONDS) -> None:
        """Drop the command where it stands (its terminal is gone), printing nothing more.

        Waits at most ``timeout`` seconds for the lab lock: a simulator stuck in a step keeps the
        command, and the terminal goes all the same.
        """
        if running.ended:
            return
        if not self.lock.acquire(timeout=timeout):
            log.warning("%s: the lab is busy; its command is left to end", running.where)
            return
        try:
            if running.ended:
                return
            self.pacer.remove(running)
            if running.job is not None:
                try:
                    running.job.close()
                except Exception:  # noqa: BLE001
                    log.exception("%s: a command failed while dropped", running.where)
            running.end()
        finally:
            self.lock.release()

    def finish(self, running: Running, poll: float = 0.1) -> str:
        """Wait for the command's end; all its output. Raises Disconnected if the lab stops meanwhile."""
        out = []
        try:
            while True:
                text, ended = self.take(running)
                out.append(text)
                if ended:
                    return "".join(out)
                if self.stopping.is_set():
                    raise Disconnected
                running.changed.wait(poll)
        finally:
            self.cancel(running)

    def run_lines(self, cli: CliSession, lines: list[str], where: str = "console") -> tuple[str, str, bool]:
        """Run typed lines to their ends: (output, next prompt, closed).

        ``CTRL_Z`` leaves configuration mode (and is ignored outside it). Raises Disconnected if
        the lab stops meanwhile.
        """
        out = []
        for line in lines:
            with self.lock:
                if line == CTRL_Z and cli.config is None:
                    continue
            try:
                out.append(self.finish(self.begin(cli, line, where)))
            except SessionClosed:
                break
        with self.lock:
            return "".join(out), cli.prompt, cli.closed

    def new_messages(self, cli: CliSession) -> str:
        """Messages the device logged since ``cli`` last showed them, for a terminal that monitors.

        What ``CliSession.execute`` appends after a command's output, taken while the terminal is
        idle at its prompt, as a console prints them when they happen.
        """
        with self.lock:
            buffer = cli.router.log_buffer
            seen = getattr(cli, "_log_seen", len(buffer))
            if seen >= len(buffer):
                return ""
            cli._log_seen = len(buffer)
            return "".join(m + "\n" for m in buffer[seen:]) if cli.monitor else ""


class StopSignals:
    """SIGINT and SIGTERM, while in effect, call ``on_signal(signum)`` (in the main thread), which
    sets a flag or raises to unwind; the previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, on_signal: Callable[[int], None]):
        self.on_signal = on_signal
        self.received: int | None = None
        self._saved: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signum
        self.on_signal(signum)

    def __enter__(self) -> "StopSignals":
        for sig in self.SIGNALS:
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()


__all__ = ["Pacer", "PacedLab", "Running", "Disconnected", "StopSignals", "INTERNAL_ERROR"]
