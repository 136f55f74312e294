"""``telnet HOST [PORT]`` and a bare address typed at EXEC: a telnet connection from the device.

"Trying 10.0.0.2 ... Open" (with a port: "Trying 10.0.0.2, 2001 ... Open"),
then the session's lines go to the remote end: each line typed is sent over
the connection, and what comes back is printed as the lab clock runs, until
the remote end is quiet: for ``QUIET_PROMPT`` when what came last looks like
a prompt or a question (a last line ending in ``>``, ``#``, ``:``, ``?`` or
``]``), else for ``QUIET`` (a running ping's dots come 2 s apart). A client
knows no more than that; output that comes later is printed with the next
line. The remote end echoes what is typed; the echo of the line just typed
is not printed twice. At the remote's ``--More--`` the keys of a line go
alone (a space, or an empty line for Return).

The escape sequence (Ctrl-^ then x, or breaking a command off) suspends the
connection back to the local prompt; an empty line or ``resume [N]`` takes it
up again ("[Resuming connection 1 to HOST ... ]"), ``disconnect [N]`` closes
it, ``show sessions`` lists a line's connections. When the remote end
closes: "[Connection to HOST closed by foreign host]". Failures print IOS's
words: "% Connection refused by remote host", "% Connection timed out;
remote host not responding", "% Destination unreachable; gateway or host
down" (no route, or an ICMP unreachable answering the SYN).
"""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address
from typing import Any

from emulator.cli import exec_commands
from emulator.cli.exec_commands import exec_command
from emulator.cli.paging import MORE
from emulator.device.tcp import Connection
from emulator.labtime import MS, SECOND
from emulator.sim.jobs import Interrupted, Job, Steps, Wait
from emulator.wire.telnet import TelnetParser

__all__ = ["TelnetClient", "telnet_job", "relay_line", "resume", "disconnect", "sessions", "QUIET", "ESCAPE"]

TELNET_PORT = 23
QUIET = 2500 * MS            # the remote's output is over when nothing more came for this long
QUIET_PROMPT = 200 * MS      # ... or for this long after what looks like a prompt
PROMPT_ENDS = (">", "#", ":", ": ", "?", "? ", "]")
FIRST_ANSWER = 10 * SECOND   # how long a typed line waits for the first byte of its answer
OPEN_TIMEOUT = 40 * SECOND   # past the TCP engine's own SYN retries: it reports first
ESCAPE = ("\x1ex", "\x1e x", "\x1eX")   # Ctrl-^ x, IOS's default escape character then x


class TelnetClient:
    """One outgoing telnet connection (a ``TcpHandler``) and the text it has received, not yet printed."""

    def __init__(self, host: IPv4Address, port: int):
        self.host = host
        self.port = port
        self.state = "opening"      # opening | open | closed
        self.reason = ""
        self.parser = TelnetParser("client")
        self.connection: Connection | None = None
        self._text: list[str] = []
        self.last_received = 0
        self.tail = ""              # the last line received so far (a prompt, when the remote waits)
        self.echo_expected = ""     # the line just sent, as the remote end echoes it
        self.number = 0             # the connection's number on its line (``resume N``)

    # TcpHandler
    def opened(self) -> None:
        self.state = "open"

    def received(self, data: bytes) -> None:
        text, replies = self.parser.feed(data)
        if replies and self.connection is not None:
            self.connection.send(replies)
        if text:
            chunk = text.decode("latin-1").replace("\0", "")
            self._text.append(chunk)
            line_end = max(chunk.rfind("\n"), chunk.rfind("\r"))
            self.tail = chunk[line_end + 1:] if line_end >= 0 else self.tail + chunk[-80:]
            if self.connection is not None:
                self.last_received = self.connection.host.device.now

    def peer_closed(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def closed(self, reason: str) -> None:
        self.state = "closed"
        self.reason = reason

    # the local session's side
    @property
    def pending(self) -> bool:
        return bool(self._text)

    @property
    def asks_password(self) -> bool:
        """Whether the remote end's last line asks a password (the local terminal then does not echo)."""
        return self.tail.rstrip(" ").endswith("assword:")

    @property
    def unread(self) -> int:
        """Bytes received and not yet printed (``show sessions``'s Byte)."""
        return sum(len(t) for t in self._text)

    def take(self) -> str:
        """What came since the last call, without the echo of the line typed, lines ended by LF."""
        text = "".join(self._text)
        self._text.clear()
        expected = self.echo_expected
        i = 0
        while i < len(text) and i < len(expected) and text[i] == expected[i]:
            i += 1
        if i:
            text, self.echo_expected = text[i:], expected[i:]
            if self.echo_expected == "\r\n" and not text:
                return ""
        if text and self.echo_expected:
            self.echo_expected = ""
            if text.startswith("\r\n"):
                text = text[2:]
        return text.replace("\r\n", "\n").replace("\r", "")

    @property
    def at_more(self) -> bool:
        """Whether the remote end stopped its output at ``--More--`` (it waits for one key)."""
        return self.tail.endswith(MORE)

    def send_line(self, line: str) -> None:
        """What is typed: a line and Return; at ``--More--`` the keys alone (an empty line: Return)."""
        if self.connection is None or self.state != "open":
            return
        if self.at_more:
            self.echo_expected = ""
            data = line.encode("latin-1", "replace") or b"\r"
        else:
            self.echo_expected = line + "\r\n"
            data = line.encode("latin-1", "replace") + b"\r\n"
        self.connection.send(data.replace(b"\xff", b"\xff\xff"))

    @property
    def name(self) -> str:
        return str(self.host)


def _address(word: str) -> IPv4Address | None:
    try:
        return IPv4Address(word)
    except (AddressValueError, ValueError):
        return None


def telnet_job(session: Any, host: IPv4Address, port: int) -> Steps:
    """Open the connection and print as IOS does; the session then relays its lines to it."""
    router = session.router
    yield f"Trying {host}{'' if port == TELNET_PORT else f', {port}'} ... "
    client = TelnetClient(host, port)
    connection = router.tcp.open(host, port, client)
    if connection is None:
        yield "\n% Destination unreachable; gateway or host down\n\n"
        return
    client.connection = connection
    try:
        yield Wait(router.now + OPEN_TIMEOUT, lambda: client.state != "opening")
    except Interrupted:
        connection.abort()
        yield "\n% Connection timed out; remote host not responding\n"
        return
    if client.state == "open":
        yield "Open\n"
        used = {c.number for c in session.connections}
        client.number = next(n for n in range(1, len(used) + 2) if n not in used)
        session.connections.append(client)
        session.remote = client
        yield from _output(session, client, 2 * SECOND)
    elif client.reason == "refused":
        yield "\n% Connection refused by remote host\n\n"
    elif client.reason == "unreachable":
        yield "\n% Destination unreachable; gateway or host down\n\n"
    else:
        if client.state == "opening":
            connection.abort()
        yield "\n% Connection timed out; remote host not responding\n\n"


def relay_line(session: Any, client: TelnetClient, line: str) -> Steps:
    """One line typed while connected: sent to the remote end, and its answer printed."""
    if line.strip(" \t") in ESCAPE:
        _suspend(session, client)
        return
    client.send_line(line)
    yield from _output(session, client, FIRST_ANSWER)


def _suspend(session: Any, client: TelnetClient) -> None:
    session.remote = None
    session.suspended = client            # the current connection: Enter or ``resume`` takes it up


def _ended(session: Any, client: TelnetClient) -> None:
    if session.remote is client:
        session.remote = None
    if session.suspended is client:
        session.suspended = None
    if client in session.connections:
        session.connections.remove(client)


def _output(session: Any, client: TelnetClient, first: int, wait: bool = True) -> Steps:
    """Print what the remote end sends until it has been quiet long enough (see the module docstring),
    or it closes."""
    router = session.router
    started = router.now
    try:
        while True:
            text = client.take()
            if text:
                yield text
            if client.state == "closed":
                _ended(session, client)
                yield f"\n[Connection to {client.name} closed by foreign host]\n"
                return
            if client.last_received > started:
                prompt = client.tail.endswith(PROMPT_ENDS) or client.at_more
                deadline = client.last_received + (QUIET_PROMPT if prompt else QUIET)
            else:
                deadline = started + first
            if not wait or (router.now >= deadline and not client.pending):
                return
            yield Wait(deadline, lambda: client.pending or client.state == "closed")
    except Interrupted:
        _suspend(session, client)          # broken off: the connection stays, suspended
        yield "\n"


def _connection(session: Any, number: int | None) -> TelnetClient | None:
    if number is None:
        return session.suspended if session.suspended in session.connections else None
    return next((c for c in session.connections if c.number == number), None)


def resume(session: Any, number: int | None = None) -> Steps:
    """Take a suspended connection up again (the current one, or connection ``number``)."""
    client = _connection(session, number)
    if client is None:
        yield "% No connection to resume\n" if number is None else "% No such connection\n"
        return
    session.suspended = None
    session.remote = client
    yield f"[Resuming connection {client.number} to {client.name} ... ]\n\n"
    yield from _output(session, client, 0, wait=False)       # what came meanwhile


def disconnect(session: Any, number: int | None):
    """``disconnect [N]``: close a suspended connection, after IOS's confirmation."""
    client = _connection(session, number)
    if client is None:
        return "% No connection to disconnect\n" if number is None else "% No such connection\n"
    answer = yield ("", f"Closing connection to {client.name} [confirm]")
    if answer.strip() and not answer.strip().lower().startswith("y"):
        return ""
    if client.connection is not None:
        client.connection.close()
    _ended(session, client)
    return "\n"


def sessions(session: Any) -> str:
    """``show sessions``: the open connections of this line, the current one marked ``*``."""
    if not session.connections:
        return "% No connections open\n"
    rows = ["Conn Host                Address             Byte  Idle Conn Name"]
    router = session.router
    for c in sorted(session.connections, key=lambda c: c.number):
        mark = "*" if c is session.suspended else " "
        idle = (router.now - c.last_received) // (60 * SECOND)
        rows.append(f"{mark}{c.number:>3} {c.name:<19} {str(c.host):<19} {c.unread:>4} {idle:>5} {c.name}")
    return "\n".join(rows) + "\n"


@exec_command("telnet <host:word>", "telnet <host:word> <port:1-65535>")
def _telnet(session, args):
    host = _address(args["host"])
    if host is None:
        return _unresolved(session, args["host"])
    return Job(telnet_job(session, host, args.get("port", TELNET_PORT)))


@exec_command("resume", "resume <n:1-20>")
def _resume_command(session, args):
    return Job(resume(session, args.get("n")))


@exec_command("disconnect", "disconnect <n:1-20>")
def _disconnect_command(session, args):
    return disconnect(session, args.get("n"))


@exec_command("show sessions")
def _show_sessions(session, args):
    return sessions(session)


def _unresolved(session, word: str) -> str:
    if session.router.config.domain_lookup is False:
        return f'Translating "{word}"\n% Bad IP address or host name\n'
    return f'Translating "{word}"...domain server (255.255.255.255)\n% Bad IP address or host name\n'


def _connect_word(session, word: str):
    """A lone word at EXEC that is an address: IOS telnets to it (None: not an address)."""
    host = _address(word)
    return None if host is None else Job(telnet_job(session, host, TELNET_PORT))


exec_commands.HOST_CONNECT = _connect_word
