#!/usr/bin/env python3
"""The third-party images and their pinned tags; `resolve` asks the registries for each tag's
digest (docker buildx imagetools, no pull). Standard library only.

  python3 infra/third_party_images.py list      # name, input, pinned reference
  python3 infra/third_party_images.py resolve   # ENV=sha256:... lines, then the scan matrix

`resolve` prints, one per line, `<ENV>=<digest>` for each image (the CDK app reads these
variables: ADOT_IMAGE_DIGEST, ...), `<name>=<reference>@<digest>` for each, and
`matrix=<json>` for the workflow's scan job. Run it before a manual first deploy and export the
ENV lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from logger_app_infra.third_party import DIGEST, THIRD_PARTY_IMAGES


def resolve(reference: str) -> str:
    result = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    digest = str(json.loads(result.stdout)["digest"])
    if not DIGEST.match(digest):
        raise SystemExit(f"{reference}: unexpected digest {digest!r}")
    return digest


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "list"
    if command == "list":
        for image in THIRD_PARTY_IMAGES:
            print(image.name, image.context_key, image.reference())
        return 0
    if command == "resolve":
        matrix = []
        for image in THIRD_PARTY_IMAGES:
            reference = image.reference()
            pinned = f"{reference.rpartition(':')[0]}@{resolve(reference)}"
            print(f"{image.env}={pinned.rpartition('@')[2]}")
            print(f"{image.name}={pinned}")
            matrix.append({"name": image.name, "image": pinned})
        print("matrix=" + json.dumps({"include": matrix}, separators=(",", ":")))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
