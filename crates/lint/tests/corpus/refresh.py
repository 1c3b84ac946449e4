#!/usr/bin/env python3
"""Refreshes the template corpus of crates/lint/tests/corpus.rs.

Two steps, both deterministic:

1. vendor (with --from GIT_DIR [--commit REV]): every .yaml/.yml/.json file of
   aws-cloudformation/aws-cloudformation-templates that holds a `Resources` section (templates, not
   events, buildspecs or workflow files), with the repository's licence files, into
   crates/lint/tests/corpus/aws-cloudformation-templates/; SOURCE records the commit.
2. judge (always): cfn-lint's own template reader (cfnlint.decode, the pinned cfn-lint of
   xtask/tools) on every vendored file; the ones it reads without a parse error are listed in
   accepted.txt with the cfn-lint version. The test reads that list: running cfn-lint at test time
   would take longer than every other lint test together.

Run with the provisioned tools (cargo xtask tools):

    git clone https://github.com/aws-cloudformation/aws-cloudformation-templates /tmp/acft
    target/tools/py/bin/python crates/lint/tests/corpus/refresh.py --from /tmp/acft/.git
    target/tools/py/bin/python crates/lint/tests/corpus/refresh.py        # judge again only
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
VENDORED = HERE / "aws-cloudformation-templates"
ACCEPTED = HERE / "accepted.txt"
SOURCE = VENDORED / "SOURCE"
LICENCES = ("LICENSE", "LICENSE.txt", "NOTICE", "NOTICE.txt")
EXTENSIONS = (".yaml", ".yml", ".json")
# Over this, a file is skipped (none of the repository's templates comes near it).
MAX_BYTES = 256 * 1024


def git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True
    ).stdout


def vendor(git_dir: str, commit: str) -> None:
    commit = git(git_dir, "rev-parse", f"{commit}^{{commit}}").decode().strip()
    listing = git(git_dir, "ls-tree", "-r", "-l", "-z", commit).split(b"\0")
    if VENDORED.exists():
        shutil.rmtree(VENDORED)
    VENDORED.mkdir(parents=True)
    templates = 0
    for entry in sorted(e for e in listing if e):
        meta, path = entry.decode().split("\t", 1)
        _mode, kind, blob, size = meta.split()
        name = pathlib.PurePosixPath(path)
        if kind != "blob" or path.startswith("."):
            continue
        is_licence = name.name in LICENCES
        if not is_licence and (name.suffix not in EXTENSIONS or int(size) > MAX_BYTES):
            continue
        data = git(git_dir, "cat-file", "blob", blob)
        if not is_licence and b"Resources" not in data:
            continue
        target = VENDORED / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        templates += 0 if is_licence else 1
    SOURCE.write_text(
        "https://github.com/aws-cloudformation/aws-cloudformation-templates\n"
        f"commit {commit}\n"
        f"templates {templates}\n"
    )
    print(f"vendored {templates} templates at {commit}")


def judge() -> None:
    import cfnlint.version
    from cfnlint.decode import decode

    logging.disable(logging.CRITICAL)
    files = sorted(
        p.relative_to(VENDORED).as_posix()
        for p in VENDORED.rglob("*")
        if p.is_file() and p.suffix in EXTENSIONS
    )
    accepted = []
    for rel in files:
        template, matches = decode(str(VENDORED / rel))
        if not matches and isinstance(template, dict):
            accepted.append(rel)
    lines = [
        f"# cfn-lint {cfnlint.version.__version__} reads these {len(accepted)} of the {len(files)} vendored",
        "# templates without a parse error (cfnlint.decode). Written by refresh.py; do not edit.",
        *accepted,
    ]
    ACCEPTED.write_text("\n".join(lines) + "\n")
    print(f"cfn-lint {cfnlint.version.__version__}: {len(accepted)} of {len(files)} accepted")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="git_dir", help="the repository's git directory")
    parser.add_argument("--commit", default="HEAD", help="the commit to vendor (default HEAD)")
    args = parser.parse_args()
    if args.git_dir:
        vendor(os.path.abspath(args.git_dir), args.commit)
    judge()
    return 0


if __name__ == "__main__":
    sys.exit(main())
