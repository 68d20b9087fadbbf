#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11+ and Node 20+:
#   ./run.sh synth   set up, then `cdk synth` the app (offline, no AWS account needed)
#   ./run.sh test    set up, then ruff, mypy and the whole pytest suite
#   ./run.sh bench   set up, then the benchmarks (see benchmarks/README.md)
# Extra arguments go to the underlying command (`./run.sh synth -c model_id=...`, `./run.sh test -k images`).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export NODE_NO_WARNINGS=1
export PATH="$PWD/$VENV/bin:$PWD/node_modules/.bin:$PATH"

# Install a requirements file into the venv unless the same file was installed last time.
install_python() {
  local requirements=$1 stamp="$VENV/.installed-$(basename "$1")"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || { echo "Python 3.11+ is required (found $("$PYTHON" --version))" >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || ! cmp -s "$stamp" <(cat "$requirements" requirements.txt); then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cat "$requirements" requirements.txt > "$stamp"
  fi
}

install_node() {
  if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

command=${1:-}
shift || true
case "$command" in
  synth)
    install_python requirements.txt
    install_node
    exec cdk synth --no-notices "$@"
    ;;
  test)
    install_python requirements-dev.txt
    install_node
    ruff check .
    ruff format --check .
    mypy
    exec python -m pytest "$@"
    ;;
  bench)
    install_python requirements-dev.txt
    install_node
    exec python benchmarks/run_all.py "$@"
    ;;
  *)
    echo "usage: ./run.sh {synth|test|bench} [args...]" >&2
    exit 2
    ;;
esac
