"""Peak RSS of a process that serves JobMatch (the WSGI app imported) before and after its encoder is loaded and
has encoded 2,000 titles and 200 long texts, per encoder backend, each in a fresh process (ONNX artifacts already
built and cached). The real web and
worker processes under load are measured by bench/api.py and bench/reindex.py.
Prints one table and writes JSON. Run: .venv/bin/python bench/memory.py
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import RESULTS, ROOT, child_env, peak_rss_mb  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")


def measure() -> dict:
    """In the child: import the app as gunicorn does, then load and use the served encoder."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
    from jobmatch_site.wsgi import application  # noqa: F401

    app_mb = peak_rss_mb(os.getpid())
    from matching.ml.encoder import BASE_MODEL
    from matching.services.encoding import served_encoder

    encoder = served_encoder(BASE_MODEL)
    from matching.reference_data import validation_titles

    titles = [title for title, _ in validation_titles()][:2000]
    encoder.encode(titles)
    encoder.encode([" ".join(titles[i : i + 40]) for i in range(0, 8000, 40)])  # 200 texts at the 256-token cap
    return {"app_mb": app_mb, "with_encoder_mb": peak_rss_mb(os.getpid()), "served_by": encoder.backend}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, default=RESULTS / "memory.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure()))
        return
    rows = []
    for backend in BACKENDS:  # a first run builds the ONNX artifact (its export loads torch): not what is served
        subprocess.run([sys.executable, __file__, "--child"], env=child_env(ENCODER_BACKEND=backend),
                       capture_output=True, check=True, cwd=ROOT)  # fmt: skip
    for backend in BACKENDS:
        done = subprocess.run([sys.executable, __file__, "--child"], env=child_env(ENCODER_BACKEND=backend),
                              capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
        rows.append({"backend": backend} | json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'backend':<10} {'app imported MB':>16} {'+ encoder, peak MB':>19}")
    for row in rows:
        print(f"{row['backend']:<10} {row['app_mb']:>16.0f} {row['with_encoder_mb']:>19.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
