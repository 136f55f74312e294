"""``--More--``: a command's output on a terminal of ``terminal length`` lines, sans-I/O.

The first page holds ``length - 1`` lines; ``--More--`` comes before any
further text, and the key typed at it decides: space a page more, Return one
line more, any other key ends the output. Length 0 never pages. The served
vty (``emulator.frontends.terminal.Pager``, blocking on the key) and the lab's
own telnet vty (``emulator.cli.telnet_server``, the key arriving as a packet)
both page with it. Lines leave ending in CR LF.
"""

from __future__ import annotations

__all__ = ["PageState", "MORE", "ERASE_MORE"]

MORE = " --More-- "
ERASE_MORE = "\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE)


class PageState:
    """Where the output stands: ``write(text)`` and ``key(k)`` return what to send now; text past a
    full page is held behind ``--More--`` (``waiting``) until a key."""

    def __init__(self, length: int):
        self.length = length
        self.room = max(length - 1, 1)
        self.stopped = False
        self.waiting = False
        self._held = ""

    def write(self, text: str) -> str:
        if self.stopped:
            return ""
        text = text.replace("\r\n", "\n")
        if self.length <= 0:
            return text.replace("\n", "\r\n")
        if self.waiting:
            self._held += text
            return ""
        return self._flow(text)

    def key(self, key: str) -> str:
        """The key typed at ``--More--``: the prompt erased, then what it lets through."""
        if not self.waiting:
            return ""
        self.waiting = False
        if key == " ":
            self.room = max(self.length - 1, 1)
        elif key == "\r":
            self.room = 1
        else:
            self.stopped = True                        # any other key ends the output
            self._held = ""
            return ERASE_MORE
        text, self._held = self._held, ""
        return ERASE_MORE + self._flow(text)

    def _flow(self, text: str) -> str:
        out = []
        while text:
            if self.room <= 0:
                self._held = text
                self.waiting = True
                out.append(MORE)
                break
            cut, count = 0, 0
            while count < self.room:
                end = text.find("\n", cut)
                if end < 0:
                    break
                cut, count = end + 1, count + 1
            chunk, text = (text[:cut], text[cut:]) if count == self.room else (text, "")
            self.room -= count
            out.append(chunk.replace("\n", "\r\n"))
        return "".join(out)
