#!/usr/bin/env bash
# Sets up everything supporthost needs on a Debian machine: system packages (when root),
# a virtualenv in .venv with the host, its plugins, the example plugin and the test tools.
# Idempotent: a second run only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-run}"   # run | test | bench (bench: the test setup plus the peers the benchmarks compare with)

SYSTEM_PACKAGES_RUN=""
# A Debian system Python needs python3-venv for `python -m venv`; others (pyenv, python.org) have it.
"${PYTHON:-python3}" -c "import ensurepip" 2>/dev/null || SYSTEM_PACKAGES_RUN="python3-venv"
SYSTEM_PACKAGES_TEST="chromium xvfb xdotool x11-apps x11-xserver-utils x11-utils xauth xterm zenity openbox pulseaudio libasound2-plugins portaudio19-dev fonts-dejavu-core fonts-noto-color-emoji x11vnc python3-tk"
# bench.filexfer copies the same files with scp and rsync through its own sshd on loopback.
SYSTEM_PACKAGES_BENCH="openssh-server openssh-client rsync"

missing=()
want="$SYSTEM_PACKAGES_RUN"
[ "$what" = test ] || [ "$what" = bench ] && want="$want $SYSTEM_PACKAGES_TEST"
[ "$what" = bench ] && want="$want $SYSTEM_PACKAGES_BENCH"
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages first: ${missing[*]}" >&2
  fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
python_what="$what"
[ "$what" = bench ] && python_what=test   # the benchmarks need the same Python packages as the tests
stamp=".venv/.setup-$python_what-$(cat setup.cfg examples/*/setup.cfg | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  pip_install() {  # pip's own exit status counts; only its noise about local index folders is hidden
    .venv/bin/pip install -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
    return "${PIPESTATUS[0]}"
  }
  # The host alone needs no extras; the tests also run the Support Manager (agent extras).
  if [ "$python_what" = test ]; then
    pip_install -e ".[agent,test]"
    for ex in examples/*/; do
      pip_install -e "$ex"
    done
  else
    pip_install -e .
  fi
  .venv/bin/python -c "import host, aiohttp, pluggy, sqlite_utils, argon2"
  touch "$stamp"
fi
