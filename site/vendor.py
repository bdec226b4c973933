"""The JavaScript the site's pages need, vendored so the site builds and reads offline (no CDN at view time).

    python site/vendor.py           # check every vendored file against MANIFEST.json (what tests/test_site.py does)
    python site/vendor.py --fetch   # re-download the pinned npm packages with `npm pack` and copy the files in

Each entry of ``MANIFEST.json`` names the file under ``site/_static/vendor/``, the npm package and version it comes
from, its path inside that package's tarball, and its SHA-256. The files:

* ``mathjax`` (Apache-2.0): ``tex-svg-full.js``, one self-contained MathJax 3 build (TeX input with every
  extension, SVG output: no web fonts to load), used by Sphinx for the lessons' ``$...$`` maths;
* ``requirejs`` (MIT) and ``@jupyter-widgets/html-manager`` (BSD-3-Clause: ``embed-amd.js`` and the Font Awesome
  fonts its CSS points at, SIL OFL 1.1), which myst-nb uses to draw the widgets' saved state.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "_static" / "vendor"
MANIFEST = HERE / "MANIFEST.json"

# (npm package@version, path in the tarball (glob), target folder under _static/vendor)
SOURCES = [
    ("mathjax@3.2.2", "package/es5/tex-svg-full.js", "mathjax"),
    ("mathjax@3.2.2", "package/LICENSE", "mathjax"),
    ("requirejs@2.3.8", "package/require.js", "requirejs"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/embed-amd.js", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/embed.js.LICENSE.txt", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/*.woff2", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/*.woff", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/*.ttf", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/*.eot", "html-manager"),
    ("@jupyter-widgets/html-manager@1.0.15", "package/dist/*.svg", "html-manager"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check() -> list[str]:
    """Problems (missing or changed files), empty when every vendored file matches the manifest."""
    problems = []
    entries = json.loads(MANIFEST.read_text())["files"]
    for e in entries:
        path = VENDOR / e["file"]
        if not path.exists():
            problems.append(f"{path} is missing; run: python site/vendor.py --fetch")
        elif sha256(path) != e["sha256"]:
            problems.append(
                f"{path} differs from MANIFEST.json ({e['npm']} {e['from']}); run: python site/vendor.py --fetch"
            )
    listed = {e["file"] for e in entries}
    for path in VENDOR.rglob("*"):
        if path.is_file() and path.relative_to(VENDOR).as_posix() not in listed:
            problems.append(f"{path} is not in MANIFEST.json: remove it or add it to SOURCES in site/vendor.py")
    return problems


def fetch() -> None:
    """Download each package with ``npm pack`` (the npm registry), copy the files, rewrite the manifest."""
    if shutil.which("npm") is None:
        sys.exit("npm is needed to re-fetch the vendored files (apt-get install npm).")
    entries = []
    shutil.rmtree(VENDOR, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        unpacked: dict[str, Path] = {}
        for package, pattern, target in SOURCES:
            if package not in unpacked:
                out = (
                    subprocess.run(
                        ["npm", "pack", package, "--silent"], cwd=tmp, check=True, capture_output=True, text=True
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )
                dest = tmp / out.replace(".tgz", "")
                with tarfile.open(tmp / out) as tar:
                    tar.extractall(dest, filter="data")
                unpacked[package] = dest
            matches = sorted(unpacked[package].glob(pattern))
            if not matches:
                sys.exit(f"{package} has no {pattern}")
            for src in matches:
                target_path = VENDOR / target / src.name
                target_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target_path)
                entries.append(
                    {
                        "file": f"{target}/{src.name}",
                        "npm": package,
                        "from": src.relative_to(unpacked[package]).as_posix(),
                        "sha256": sha256(target_path),
                    }
                )
    MANIFEST.write_text(
        json.dumps({"about": "Files under site/_static/vendor/ (see site/vendor.py).", "files": entries}, indent=1)
        + "\n"
    )
    print(f"{len(entries)} files vendored into {VENDOR}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="re-download from the npm registry")
    args = parser.parse_args(argv)
    if args.fetch:
        fetch()
    problems = check()
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("vendored files match MANIFEST.json")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
