"""python -m emulator run [--lab PATH] [SCRIPT|-]: run a console script on an emulated lab."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .lab import Lab, LabError
from .script import ScriptError, ScriptRunner, parse_script

DEFAULT_LAB = Path(__file__).resolve().parent.parent / "fixtures" / "doc14131" / "lab.yml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="The bundled IOS emulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a script of console lines and print the transcript")
    run.add_argument("--lab", default=str(DEFAULT_LAB), help="lab file (default: the document's lab)")
    run.add_argument("--capture", metavar="DIR", default=None,
                     help="write one pcap file per link into DIR (lab clock as time stamps)")
    run.add_argument("script", nargs="?", default="-", help="script file, or - for standard input")
    args = parser.parse_args(argv)

    source = "<stdin>" if args.script == "-" else args.script
    try:
        text = sys.stdin.read() if args.script == "-" else Path(args.script).read_text()
    except OSError as err:
        print(f"error: {source}: cannot read script ({err.strerror})", file=sys.stderr)
        return 2
    try:
        steps = parse_script(text, source)
        lab = Lab.from_file(args.lab, capture_dir=args.capture)
        for err in lab.boot_errors():
            print(f"boot: {err}", file=sys.stderr)
        try:
            sys.stdout.write(ScriptRunner(lab).run(steps, source))
        finally:
            lab.close()
    except (ScriptError, LabError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
