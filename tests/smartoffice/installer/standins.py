"""Stand-ins for esptool and mpremote where no board is plugged in.

They take the real tools' command lines, check them as the real tools would, log them,
and do the work on a folder that plays the board's filesystem (mpremote) or answer as the
real tool does when the chip is not in download mode (esptool).
"""

from __future__ import annotations

import sys
from pathlib import Path

MPREMOTE = r"""
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps(["mpremote", *args]) + "\n")
if os.environ.get("STANDIN_MODE") == "norepl":
    print("mpremote: could not enter raw repl", file=sys.stderr)
    sys.exit(1)
board = os.environ["STANDIN_BOARD"]
for command in " ".join(args).split(" + "):
    words = command.split()
    if words[:1] == ["connect"]:
        if not os.path.exists(words[1]):
            print(f"mpremote: failed to access {words[1]}", file=sys.stderr)
            sys.exit(1)
        words = words[2:]
    if words[:2] == ["fs", "cp"]:
        rest = words[2:]
        recursive = rest[:1] == ["-r"]
        rest = rest[1:] if recursive else rest
        *sources, dest = rest
        assert dest.startswith(":"), dest
        target = os.path.join(board, dest[1:])
        for src in sources:
            out = os.path.join(target, os.path.basename(src))
            if os.path.isdir(src):
                assert recursive, "a folder needs cp -r"
                shutil.copytree(src, out, dirs_exist_ok=True)
            else:
                shutil.copy(src, out)
    elif words and words != ["reset"]:
        print(f"mpremote: unknown command {words}", file=sys.stderr)
        sys.exit(2)
"""

ESPTOOL = r"""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps(["esptool", *args]) + "\n")
port = args[args.index("--port") + 1]
if not os.path.exists(port):
    print(f"Could not open {port}, the port doesn't exist", file=sys.stderr)
    sys.exit(2)
if "write-flash" in args and not os.path.isfile(args[-1]):
    print(f"No such file: {args[-1]}", file=sys.stderr)
    sys.exit(2)
print("Wrote 1 bytes at 0x00001000. Hash of data verified.")
"""


def install(folder: Path) -> dict[str, str]:
    """Write both stand-ins into ``folder``; returns the environment that selects them."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {}
    for name, code in (("mpremote", MPREMOTE), ("esptool", ESPTOOL)):
        path = folder / name
        path.write_text(f"#!{sys.executable}\n{code}")
        path.chmod(0o755)
        env[f"SMARTOFFICE_{name.upper()}"] = str(path)
    return env
