#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11+ and Node 20+:
#   ./run.sh synth         set up, then `cdk synth` the app (offline, no AWS account needed)
#   ./run.sh test          set up, then ruff, mypy and the whole pytest suite with the pinned versions
#                          (requirements*.txt), then the suite against the newest and the oldest versions that
#                          pyproject.toml allows (what test-ranges runs); this is what CI runs
#   ./run.sh test-pinned   the pinned part only: the quick loop while developing
#   ./run.sh test-ranges   the dependency-range part only (see the README's "Dependency ranges")
#   ./run.sh bench         set up, then the benchmarks (see benchmarks/README.md)
# Extra arguments go to the underlying command (`./run.sh synth -c model_id=...`, `./run.sh test -k images`);
# the range runs take the same pytest arguments, or their own selection when there are none.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export NODE_NO_WARNINGS=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PATH="$PWD/$VENV/bin:$PWD/node_modules/.bin:$PATH"

new_venv() {
  if [ ! -x "$1/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || { echo "Python 3.11+ is required (found $("$PYTHON" --version))" >&2; exit 1; }
    "$PYTHON" -m venv "$1"
  fi
}

# Install a requirements file into the venv unless the same files were installed last time.
install_python() {
  local requirements=$1 stamp="$VENV/.installed-$(basename "$1")"
  new_venv "$VENV"
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" <(cat "$requirements" requirements*.txt); then
    "$VENV/bin/python" -m pip install --quiet -r "$requirements"
    cat "$requirements" requirements*.txt > "$stamp"
  fi
}

# npm ci unless node_modules holds the CLI package-lock.json pins. Compared by version, not by file times: a
# fresh checkout's files are newer than any node_modules, and npm ci empties a node_modules shared by symlink.
install_node() {
  local pinned installed
  pinned=$(node -p "require('./package-lock.json').packages['node_modules/aws-cdk'].version")
  installed=$(node -p "try { require('./node_modules/aws-cdk/package.json').version } catch (e) { '' }")
  if [ ! -x node_modules/.bin/cdk ] || [ "$pinned" != "$installed" ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# .venv-NAME for one range run: a plain `pip install .` (the library's dependencies as pip resolves them from
# pyproject.toml, no pins) with the pip arguments given (the test tools, constraints). Made anew when
# pyproject.toml, requirements-test.txt or STAMP (what else decides the versions) change; for the newest
# versions STAMP holds the date, so a long-lived checkout does not keep testing yesterday's newest.
range_venv() {
  local venv=".venv-$1" wanted
  wanted="$(cat pyproject.toml requirements-test.txt; printf '%s' "$2")"
  shift 2
  if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$wanted" ]; then
    rm -rf "$venv"
    new_venv "$venv"
    "$venv/bin/python" -m pip install --quiet . "$@"
    rm -rf build constructs_lib.egg-info  # what setuptools leaves in the checkout while pip builds it
    printf '%s' "$wanted" > "$venv/.installed"
  fi
}

# The test tools of requirements-test.txt but sagemaker-core, in a temporary file (see test_oldest).
test_tools_without_oracle() {
  grep -v '^sagemaker-core==' requirements-test.txt > "$SCRATCH/test-tools.txt"
  echo "$SCRATCH/test-tools.txt"
}

# pytest in a range venv. The second argument (empty when the extra is installed) is why the [local] extra is not
# there: the tests that need it are then skipped with it, and fail without it (tests/conftest.py). When the
# caller's arguments chose the tests (SELECTED), a selection with none in this environment (exit code 5) passes.
SELECTED=0
range_pytest() {
  local venv=$1 reason=$2 status=0
  shift 2
  CONSTRUCTS_LIB_LOCAL_EXTRA_UNAVAILABLE="$reason" PATH="$PWD/$venv/bin:$PATH" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
  if [ "$status" -eq 5 ] && [ "$SELECTED" = 1 ]; then
    echo "(no test of this selection runs in $venv)"
    return 0
  fi
  return "$status"
}

# Print the versions a range run tests, so the log says what was proven.
show_versions() {
  "$1/bin/python" -m pip list --format=freeze \
    | grep -iE '^(aws-cdk-lib|constructs|boto3|huggingface.hub|filelock|packaging|tqdm|blake3|tzdata|isal|httpx2?|requests)==' \
    | tr '\n' ' '
  echo
}

# The newest versions: the whole suite. The [local] extra (transformers<5) needs huggingface_hub<1.0, so it is
# installed only if pip can add it without replacing anything; otherwise the invoke-local tests are skipped
# with pip's reason (tests/conftest.py reads CONSTRUCTS_LIB_LOCAL_EXTRA_UNAVAILABLE).
test_newest() {
  local venv=.venv-newest
  range_venv newest "$(date +%F)" -r requirements-test.txt
  if [ ! -f "$venv/.local-extra" ]; then
    "$venv/bin/python" -m pip install --quiet --dry-run --report "$SCRATCH/local-extra.json" ".[local]"
    rm -rf build constructs_lib.egg-info
    "$venv/bin/python" -m tools.dependency_ranges local-extra "$SCRATCH/local-extra.json" > "$venv/.local-extra"
    if [ ! -s "$venv/.local-extra" ]; then
      "$venv/bin/python" -m pip install --quiet ".[local]"
      rm -rf build constructs_lib.egg-info
    fi
  fi
  echo "== newest versions pyproject.toml allows: $(show_versions "$venv")"
  range_pytest "$venv" "$(cat "$venv/.local-extra")" "$@"
}

# The oldest versions: every dependency at pyproject.toml's lower bound (tools/dependency_ranges.py), with the
# test tools but sagemaker-core, which needs a newer boto3 than the oldest allowed: the catalogue oracle, which
# tests the shipped catalogue against it and not the library's dependencies, stays out, and so does the [local]
# extra (its own dependencies are not the library's). Two tests that check something else than the library's
# dependencies stay out too (OLDEST_OUT).
test_oldest() {
  local venv=.venv-oldest
  "$VENV/bin/python" -m tools.dependency_ranges lowest > "$SCRATCH/lowest.txt"
  range_venv oldest "$(cat "$SCRATCH/lowest.txt")" -r "$(test_tools_without_oracle)" -c "$SCRATCH/lowest.txt"
  echo "== oldest versions pyproject.toml allows: $(show_versions "$venv")"
  range_pytest "$venv" "the oldest-versions run installs the library's lower bounds, not the [local] extra" \
    "${OLDEST_OUT[@]}" "$@"
}

# huggingface_hub 1.x sits between the oldest (0.36, on requests) and the newest (2.x, on httpx2) and is the only
# line on httpx: the tests of the Hub lookup, the cache and what reads them run with its newest release.
test_hub1() {
  local venv=.venv-hub1 hub1="huggingface_hub>=1,<2"
  range_venv hub1 "$(date +%F) $hub1" -r "$(test_tools_without_oracle)" "$hub1"
  echo "== huggingface_hub 1.x: $(show_versions "$venv")"
  range_pytest "$venv" "transformers<5 (the [local] extra) requires huggingface_hub<1.0" "$@"
}

ORACLE=(--ignore=tests/catalogue/test_dlc_oracle.py --ignore=tests/tools/test_generate_dlc_catalogue.py)
# The host AMIs checked against the installed botocore's service model: an oracle for the catalogue, like the DLC
# one (botocore 1.35 predates the newer AMIs; the library passes them to CloudFormation, never to botocore).
# The wheel built with the environment's own setuptools (--no-build-isolation, offline): setuptools>=77 needs
# packaging>=24.2 to build, the library only 24; a user's `pip install` builds in its own isolated environment.
OLDEST_OUT=(--deselect tests/catalogue/test_host_amis.py::test_botocore_knows_every_value
  --deselect tests/test_distribution.py::test_wheel_installs_and_synthesizes_in_another_cdk_app)
HUB_TESTS=(tests/model tests/cli/test_recommend.py tests/cli/test_recommend_vllm.py tests/endpoints/test_resolve.py
  tests/sizing tests/test_app.py)

# Each range run stops the script when it fails, like the pinned one.
test_ranges() {
  SCRATCH=$(mktemp -d)
  trap 'rm -rf "$SCRATCH"' EXIT
  if [ $# -gt 0 ]; then
    SELECTED=1
    test_newest "$@"
    test_oldest "${ORACLE[@]}" "$@"
    test_hub1 "${ORACLE[@]}" "$@"
  else
    test_newest
    test_oldest "${ORACLE[@]}"
    test_hub1 "${HUB_TESTS[@]}"
  fi
}

test_pinned() {
  ruff check .
  ruff format --check .
  mypy
  python -m pytest "$@"
}

command=${1:-}
shift || true
case "$command" in
  synth)
    install_python requirements.txt
    install_node
    exec cdk synth --no-notices "$@"
    ;;
  test | test-pinned | test-ranges)
    install_python requirements-dev.txt
    install_node
    if [ "$command" != test-ranges ]; then test_pinned "$@"; fi
    if [ "$command" != test-pinned ]; then test_ranges "$@"; fi
    ;;
  bench)
    install_python requirements-dev.txt
    install_node
    exec python benchmarks/run_all.py "$@"
    ;;
  *)
    echo "usage: ./run.sh {synth|test|test-pinned|test-ranges|bench} [args...]" >&2
    exit 2
    ;;
esac
