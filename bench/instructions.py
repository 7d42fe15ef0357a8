"""The instructions one ``Registry.evaluate`` takes, for callgrind, whose counts hold to 0.1 % from
one run to the next with the same hash seed (times on this machine vary by 10 %)::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/instructions.py 0
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/instructions.py 500

The difference of the two totals (« Collected »), divided by 500: the same start, the same seeded
applications decided once before (caches warm), then 500 more decided, or none.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import applications

from evaluator import Registry


def main() -> None:
    count = int(sys.argv[1])
    registry = Registry.default()
    mappings = [json.loads(json.dumps(item, default=str)) for item in applications(600, seed=5)]
    for mapping in mappings[:100]:
        registry.evaluate(mapping)
    for mapping in mappings[100:100 + count]:
        registry.evaluate(mapping)


if __name__ == "__main__":
    main()
