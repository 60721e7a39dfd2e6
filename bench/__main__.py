"""``python -m bench NAME [--quick]``: run one benchmark, print its JSON, write bench/results/."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

BENCHMARKS = ("clip_remux", "motion", "ingest", "sim", "camera_import", "cameras_at_once", "clip_latency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = parser.parse_args(argv)
    names = BENCHMARKS if args.name == "all" else (args.name,)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = module.run(quick=args.quick)
        result.write(args.quick)
        print(json.dumps(result.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
