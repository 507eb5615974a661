"""Peak memory and time to load a large JSON Lines file with the project's loader (nothing else: no chunking,
no embedding), in a fresh subprocess so that the peak RSS is the loading's own.

    python scripts/bench_jsonl_loading.py [--records 60000] [--repeat 60]

Each record's text is one report sentence repeated ``--repeat`` times (60: ~1.6k characters, ~4.5 KB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from rag.loaders import SourceFile, load_source
path = Path(sys.argv[1])
t0 = time.perf_counter()
n = sum(1 for _ in load_source(SourceFile(path=path, root=path.parent, rel=path.name)))
print(json.dumps({"documents": n, "seconds": round(time.perf_counter() - t0, 1),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=60)
    args = ap.parse_args()
    sentence = "恒口示范区全年完成固定资产投资45亿元，同比增长12%。"
    with tempfile.TemporaryDirectory(prefix="bench-jsonl-") as tmp:
        path = Path(tmp) / "big.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(args.records):
                record = {"id": f"d{i}", "title": f"报告{i}", "text": f"第{i}篇。" + sentence * args.repeat}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        size_mb = path.stat().st_size / 2**20
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
        print(json.dumps({"file_mb": round(size_mb, 1), **json.loads(out.stdout)}, indent=2))


if __name__ == "__main__":
    main()
