"""Long-running commands as resumable jobs.

A job is a generator that yields its output as it is produced (``str``
chunks) and, whenever it has to wait for the lab, a ``Wait``: run the lab
until ``until()`` holds or the lab clock reaches ``deadline``. The job never
runs the clock itself; its runner does:

- in process, ``Job.run(sim)`` runs the simulator to satisfy each wait and
  returns the output concatenated;
- a real-time runner (the served lab, the console) runs the clock at wall
  speed and calls ``Job.step()`` whenever ``Job.ready(sim)`` says the wait is
  over, sending each chunk on as it comes.

Both see the same lab: a wait is over when its predicate holds (checked after
every event) or when the clock is at the deadline with nothing left to run at
or before it, which is what ``Simulator.run_until(predicate, timeout)`` does.
``interrupt()`` throws ``Interrupted`` into the generator (the user broke the
command off); a job may catch it to print its summary.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, NamedTuple, Protocol, Union

__all__ = ["Interrupted", "Wait", "Job", "Steps", "pause"]


class Interrupted(Exception):
    """The user broke the command off (IOS's escape sequence, Ctrl-Shift-6, or Ctrl-C)."""


class Wait(NamedTuple):
    """Run the lab until ``until()`` holds or its clock reaches ``deadline`` (ns).

    A named tuple (one is made per echo of a ping, say): cheaper to make than a frozen dataclass.
    """

    deadline: int
    until: Callable[[], bool] | None = None


Steps = Generator[Union[str, Wait], None, Any]


def _over() -> bool:
    return True


def pause() -> Wait:
    """A wait that is already over: the job's runner may let others have the lab before going on."""
    return Wait(0, _over)


class _Clock(Protocol):
    now: int

    def next_event_time(self) -> int | None: ...

    def run_until(self, target: Any, timeout: int | None = None) -> bool: ...


class Job:
    """One command's generator of output chunks and waits, and where it stands."""

    def __init__(self, steps: Steps):
        self._steps = steps
        self.waiting: Wait | None = None
        self.done = False

    def steps(self) -> Steps:
        """The generator itself, for a job that wraps this one."""
        return self._steps

    # ------------------------------------------------ in process
    def run(self, sim: _Clock | None) -> str:
        """Run to the end, the lab clock satisfying each wait; the whole output."""
        out = []
        for item in self._steps:
            if isinstance(item, Wait):
                if sim is None:
                    raise RuntimeError("a job waits for the lab clock, and there is none")
                if item.until is None:
                    sim.run_until(item.deadline)
                else:
                    sim.run_until(item.until, max(0, item.deadline - sim.now))
            elif item:
                out.append(item)
        self.done = True
        return "".join(out)

    # ------------------------------------------------ step by step
    def ready(self, sim: _Clock) -> bool:
        """Whether the job can go on: not ended, and what it waits for has happened."""
        wait = self.waiting
        if self.done:
            return False
        if wait is None:
            return True
        if wait.until is not None and wait.until():
            return True
        if sim.now < wait.deadline:
            return False
        nxt = sim.next_event_time()
        return nxt is None or nxt > wait.deadline

    def step(self) -> str:
        """Resume the job until its next wait or its end; the output it produced meanwhile."""
        out = []
        self.waiting = None
        while not self.done:
            try:
                item = next(self._steps)
            except StopIteration:
                self.done = True
                break
            if isinstance(item, Wait):
                self.waiting = item
                break
            out.append(item)
        return "".join(out)

    def interrupt(self) -> str:
        """Break the job off; the output it prints on the way out (a summary, say)."""
        if self.done:
            return ""
        out = []
        try:
            item = self._steps.throw(Interrupted())
            while True:
                if isinstance(item, Wait):     # it wants to go on waiting: it is ended instead
                    self.close()
                    break
                out.append(item)
                item = next(self._steps)
        except (StopIteration, Interrupted):
            pass
        self.done = True
        self.waiting = None
        return "".join(out)

    def close(self) -> None:
        """End the job where it stands (its ``finally`` clauses run), printing nothing more."""
        self._steps.close()
        self.done = True
        self.waiting = None
