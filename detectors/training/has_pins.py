"""Exits 0 when every `name==version` pin given as an argument is installed in this Python (local
version suffixes like +cpu ignored), else 1. Used by the setup scripts to install nothing when the
pins are already there."""
import sys
from importlib.metadata import PackageNotFoundError, version

for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name).split("+")[0] != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
