#!/usr/bin/env bash
# cfn-lint over synthesized CloudFormation templates, with the accepted warnings of
# infra/cfn-lint-ignore.yaml (each listed there with its reason). Any other finding fails.
#
#   scripts/cfn-lint.sh REGION DIR...   # every DIR/*.template.json, checked for REGION
#
# Run by infra/tests/test_infra_cfn_lint.py (make test) over the templates the infra tests
# synthesize; by hand after `make synth`: scripts/cfn-lint.sh us-east-1 infra/cdk.out
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${VENV_BIN:-$repo/.venv/bin}"
if [[ $# -lt 2 ]]; then
  echo "usage: $0 REGION DIR..." >&2
  exit 2
fi
region="$1"
shift

ignored="$("$bin/python" - "$repo/infra/cfn-lint-ignore.yaml" <<'PY'
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as handle:
    print(",".join(sorted(yaml.safe_load(handle) or {})))
PY
)"

templates=()
for dir in "$@"; do
  for template in "$dir"/*.template.json; do
    [[ -e "$template" ]] && templates+=("$template")
  done
done
if [[ ${#templates[@]} -eq 0 ]]; then
  echo "no *.template.json in $*" >&2
  exit 2
fi

args=(--format parseable --regions "$region")
if [[ -n "$ignored" ]]; then
  args+=(--ignore-checks "$ignored")
fi
exec "$bin/cfn-lint" "${args[@]}" -- "${templates[@]}"
