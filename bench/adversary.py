"""A longer search by the anonymity adversary of tests/test_adversary.py (issue 22) than CI's fixed budget.

    python bench/adversary.py [--examples 2000] [--e2e 40] [--seed N]
    python bench/adversary.py --smoke      # CI: a handful of examples, through the whole path

CI runs the adversary derandomized with 100 store-level examples and 4 through Slack in each mode (well under
a minute); this runs the same properties with far more examples and, given ``--seed``, another part of the
search space. It prints pytest's last lines and exits as pytest does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="store-level examples (CI: 100)")
    parser.add_argument("--e2e", type=int, default=40, help="examples through Slack, per mode (CI: 4)")
    parser.add_argument("--seed", type=int, default=None, help="search at random from this seed, not derandomized")
    parser.add_argument("--smoke", action="store_true", help="a few examples only (CI), to keep the bench running")
    args = parser.parse_args()
    if args.smoke:
        args.examples, args.e2e = 10, 1
    env = {**os.environ, "ADVERSARY_EXAMPLES": str(args.examples), "ADVERSARY_E2E_EXAMPLES": str(args.e2e)}
    command = [sys.executable, "-m", "pytest", "tests/test_adversary.py", "-q", "-p", "no:cacheprovider"]
    if args.seed is not None:
        env["ADVERSARY_RANDOM"] = "1"
        command.append(f"--hypothesis-seed={args.seed}")
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
