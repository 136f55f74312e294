"""python -m emulator run [--lab PATH] [--step SECONDS] [SCRIPT|-]: run a console script on an emulated
lab (emulator/lab/script.py: each line takes --step seconds of lab time after its output, 1 by default).

python -m emulator serve [--lab PATH] [--ssh-port N] [--telnet-port N] [--host 127.0.0.1]
[--write-inventory FILE]: serve every device over SSH and telnet in real time
(emulator/frontends/server.py). SIGINT or SIGTERM stops it (exit status 0) within 2 s.

python -m emulator console DEVICE [--lab PATH]: that device's console in this terminal, the lab
running in real time (emulator/frontends/console.py). SIGINT or SIGTERM ends it (exit status 0).

python -m emulator lab hub-and-spoke --spokes N [--transform T ...] [--group G] OUT_DIR: write a
complete hub-and-spoke lab (configurations, access servers, hosts, lab file) into OUT_DIR
(emulator/lab/generate.py): one access server up to nine spokes, a tiered provider network beyond.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emulator.lab.labfile import Lab, LabError
from emulator.lab.script import DEFAULT_STEP, ScriptError, ScriptRunner, parse_script, parse_seconds
from emulator.sim.clock import EmulatorFault

DEFAULT_LAB = Path(__file__).resolve().parent.parent / "fixtures" / "doc14131" / "lab.yml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="The bundled IOS emulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a script of console lines and print the transcript")
    run.add_argument("--lab", default=str(DEFAULT_LAB), help="lab file (default: the document's lab)")
    run.add_argument("--capture", metavar="DIR", default=None,
                     help="write one pcap file per link into DIR (lab clock as time stamps)")
    run.add_argument("--step", default=None, metavar="SECONDS",
                     help="lab time each script line takes after its output (default 1; a 'step' line changes it)")
    run.add_argument("script", nargs="?", default="-", help="script file, or - for standard input")
    serve = sub.add_parser("serve", help="serve every device over SSH and telnet, in real time")
    serve.add_argument("--lab", default=str(DEFAULT_LAB), help="lab file (default: the document's lab)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--ssh-port", type=int, default=0, metavar="N",
                       help="SSH port of the first device, the next device N+1, ... (default 0: free ports)")
    serve.add_argument("--telnet-port", type=int, default=0, metavar="N",
                       help="telnet port of the first device, as --ssh-port (default 0: free ports)")
    serve.add_argument("--write-inventory", "--inventory-out", dest="inventory_out", metavar="FILE", default=None,
                       help="write an inventory of the served devices for pytest --driver=netmiko "
                            "(--inventory-out is the older name)")
    serve.add_argument("--inventory-transport", choices=("ssh", "telnet"), default="ssh",
                       help="transport the written inventory uses (default ssh)")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="lab seconds per wall-clock second (default 1: real time)")
    serve.add_argument("--host-key", metavar="FILE", default=None,
                       help="SSH host key file (created if missing; default: a new key each start)")
    serve.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                       help="server log on standard error (default INFO)")
    console = sub.add_parser("console", help="a device's console in this terminal, the lab in real time")
    console.add_argument("device", help="the device whose console to open")
    console.add_argument("--lab", default=str(DEFAULT_LAB), help="lab file (default: the document's lab)")
    console.add_argument("--speed", type=float, default=1.0,
                         help="lab seconds per wall-clock second (default 1: real time)")
    lab_cmd = sub.add_parser("lab", help="write a lab of the dynamic-to-static IPsec design as files")
    kinds = lab_cmd.add_subparsers(dest="kind", required=True)
    hs = kinds.add_parser("hub-and-spoke", help="one hub with a dynamic crypto map, N spokes dialling in by PPP")
    hs.add_argument("--spokes", type=int, default=3, metavar="N", help="number of spokes (default 3; up to 10240)")
    hs.add_argument("--transform", nargs="+", default=["esp-3des", "esp-sha-hmac"], metavar="T",
                    help="the transform set (default esp-3des esp-sha-hmac)")
    hs.add_argument("--encryption", default="3des", help="ISAKMP encryption: des or 3des (default 3des)")
    hs.add_argument("--hash", default="sha", help="ISAKMP hash: md5 or sha (default sha)")
    hs.add_argument("--group", type=int, default=2, help="Diffie-Hellman group: 1, 2 or 5 (default 2)")
    hs.add_argument("--key", default="spoke-psk-2024", help="the pre-shared key of every spoke")
    hs.add_argument("--seed", type=int, default=1, help="the lab's seed (default 1)")
    hs.add_argument("out", metavar="OUT_DIR", help="directory to write the lab into")
    args = parser.parse_args(argv)
    if args.command == "lab":
        return _generate(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "console":
        if not args.speed > 0:
            print(f"error: --speed {args.speed}: must be positive", file=sys.stderr)
            return 2
        from emulator.frontends.console import run_console
        return run_console(args.lab, args.device, args.speed)

    try:
        step = DEFAULT_STEP if args.step is None else parse_seconds(args.step, "--step")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    source = "<stdin>" if args.script == "-" else args.script
    try:
        text = sys.stdin.read() if args.script == "-" else Path(args.script).read_text()
    except OSError as err:
        print(f"error: {source}: cannot read script ({err.strerror})", file=sys.stderr)
        return 2
    try:
        steps = parse_script(text, source)
        lab = Lab.from_file(args.lab, capture_dir=args.capture)
        if lab.realtime:
            lab.close()
            print(f"error: {args.lab}: the lab has external ports and runs in real time only: "
                  "use 'serve' or 'console'", file=sys.stderr)
            return 2
        for problem in lab.boot_errors():
            print(f"boot: {problem}", file=sys.stderr)
        try:
            sys.stdout.write(ScriptRunner(lab, step).run(steps, source))
        finally:
            lab.close()
    except (ScriptError, LabError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except EmulatorFault as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0


def _generate(args) -> int:
    from emulator.lab.generate import Design, GenerateError, write_lab
    design = Design(spokes=args.spokes, transforms=tuple(args.transform), encryption=args.encryption,
                    hash=args.hash, group=args.group, key=args.key, seed=args.seed)
    try:
        files = write_lab(design, args.out)
    except GenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {args.out}: cannot write the lab ({err.strerror})", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} files into {args.out}: pytest --lab {Path(args.out) / 'lab.yml'}")
    return 0


def _serve(args) -> int:
    import logging
    import threading

    from emulator.frontends.pacer import StopSignals
    from emulator.frontends.server import LabServer, MaskedLogFormatter, ServerError, lab_secrets_masker
    from emulator.frontends.ssh import ServerKeyError, load_host_key

    log_format = "%(asctime)s %(levelname)s %(message)s"
    logging.basicConfig(level=args.log_level, format=log_format, stream=sys.stderr)
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)   # failed handshakes are logged by the server
    for name, port in (("--ssh-port", args.ssh_port), ("--telnet-port", args.telnet_port)):
        if not 0 <= port <= 65535:
            print(f"error: {name} {port}: not a TCP port (0-65535)", file=sys.stderr)
            return 2
    if not args.speed > 0:
        print(f"error: --speed {args.speed}: must be positive", file=sys.stderr)
        return 2
    done = threading.Event()
    with StopSignals(lambda signum: done.set()):
        try:
            lab = Lab.from_file(args.lab)
            masker = lab_secrets_masker(lab)
            for handler in logging.getLogger().handlers:     # the log never shows the lab's secrets
                handler.setFormatter(MaskedLogFormatter(masker, log_format))
            for err in lab.boot_errors():
                print(f"boot: {masker(str(err))}", file=sys.stderr)
            key = load_host_key(args.host_key) if args.host_key else None
            server = LabServer(lab, host=args.host, ssh_port=args.ssh_port, telnet_port=args.telnet_port,
                               speed=args.speed, host_key=key)
            server.start()
        except (LabError, ServerError, ServerKeyError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        try:
            if args.inventory_out:
                try:
                    server.write_inventory(args.inventory_out, args.inventory_transport)
                except OSError as err:
                    print(f"error: {args.inventory_out}: cannot write the inventory ({err.strerror})",
                          file=sys.stderr)
                    return 2
            sys.stdout.write(server.port_map())
            sys.stdout.flush()
            if args.host not in ("127.0.0.1", "::1", "localhost"):
                print(f"warning: listening on {args.host}: the lab's passwords are the document's", file=sys.stderr)
            print(f"serving {len(server.endpoints)} devices of {args.lab}; Ctrl-C to stop", file=sys.stderr)
            while not done.wait(0.5):
                pass
        finally:
            server.stop()                   # bounded: never waits on a busy simulator
            server.paced.close_lab(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
