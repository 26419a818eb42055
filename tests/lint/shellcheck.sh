#!/usr/bin/env bash
# Runs shellcheck over the project's shell scripts: every *.sh under scripts/,
# bench/ and tests/ (but not tests/lint/fixtures: deliberately broken
# inputs), every executable with a sh/bash shebang directly in
# scripts/lab/ and scripts/azure/ (bench, deploy.sh, ...), and .ci/run.
# Exit 77 (meson: skipped) when shellcheck is not installed
# (scripts/setup.sh installs it). Usage: shellcheck.sh SOURCE_ROOT
set -euo pipefail
root=${1:?usage: shellcheck.sh SOURCE_ROOT}
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed (apt-get install shellcheck): skipped"
  exit 77
fi

files=()
dirs=()
for d in scripts bench tests; do [[ -d $root/$d ]] && dirs+=("$root/$d"); done
while IFS= read -r -d '' f; do files+=("$f"); done < <(
  find "${dirs[@]}" -path '*/lint/fixtures' -prune -o -name '*.sh' -type f -print0
)
for dir in "$root/scripts/lab" "$root/scripts/azure"; do
  [[ -d $dir ]] || continue
  for f in "$dir"/*; do
    [[ -f $f && -x $f && $f != *.sh ]] || continue
    head -n1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b' && files+=("$f")
  done
done
[[ -f $root/.ci/run ]] && files+=("$root/.ci/run")

# -x follows `source`d files that shellcheck can find; paths are printed
# relative to the root so failures read like the repository.
cd "$root"
rel=("${files[@]#"$root"/}")
echo "shellcheck: ${#rel[@]} scripts"
printf '  %s\n' "${rel[@]}"
shellcheck -x "${rel[@]}"
echo "shellcheck: clean"
