#!/usr/bin/env bash
# Installs the tools the tests and the local stack need, each only when it is missing: pip
# is never asked about a tool that works already, so offline machines with the tools
# preinstalled (CI images) never touch PyPI.
#
#   infra/tools.sh run    what the local stack (make run) needs: moto
#   infra/tools.sh test   what make test needs: moto, cfn-lint and Debian's chromium (default)
set -euo pipefail

purpose=${1:-test}
case "$purpose" in
  run|test) ;;
  *) echo "tools: usage: $0 [run|test]" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
  echo "tools: $python is required (moto and cfn-lint are Python tools); install Python 3 first" >&2
  exit 1
fi

installed=false

# moto.server (not just moto) needs the [server] extra: flask, werkzeug.
if ! "$python" -c 'import moto.server' 2>/dev/null; then
  echo "tools: installing moto[server]" >&2
  "$python" -m pip install 'moto[server]'
  installed=true
fi

if [ "$purpose" = test ] && ! command -v cfn-lint >/dev/null; then
  echo "tools: installing cfn-lint" >&2
  "$python" -m pip install cfn-lint
  installed=true
fi

# The browser tests (pkg/browsertest) drive Debian's headless Chromium; apt is the only
# source, as no browser download is assumed to work. CHROMIUM may name another build, which
# is then used as it is (a wrong CHROMIUM is an error, not a reason to install).
chromium_found() {
  if [ -n "${CHROMIUM:-}" ]; then command -v "$CHROMIUM" >/dev/null; return; fi
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}
if [ "$purpose" = test ] && [ -n "${CHROMIUM:-}" ] && ! chromium_found; then
  echo "tools: CHROMIUM=$CHROMIUM is not an executable; unset it to use Debian's chromium" >&2
  exit 1
fi
# The README's walkthroughs run in make test (infra/local/readme_test.go) with curl, jq and
# Debian's oathtool standing in for an authenticator app.
apt_missing=()
if [ "$purpose" = test ]; then
  chromium_found || apt_missing+=(chromium)
  for tool in curl jq oathtool; do
    command -v "$tool" >/dev/null || apt_missing+=("$tool")
  done
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "tools: ${apt_missing[*]} missing and installing needs root (or sudo): apt-get install ${apt_missing[*]}" >&2
    exit 1
  fi
  echo "tools: installing ${apt_missing[*]} (apt)" >&2
  "${as_root[@]}" apt-get update
  # Non-interactive: tzdata and friends must not stop the run for a question.
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${apt_missing[@]}"
fi

# pyenv puts new console scripts on PATH only after a rehash.
if $installed && command -v pyenv >/dev/null; then
  pyenv rehash
fi

"$python" -c 'import moto.server' || { echo "tools: moto is still not importable by $python" >&2; exit 1; }
[ "$purpose" = run ] && exit 0
command -v cfn-lint >/dev/null || { echo "tools: cfn-lint is still not on PATH (is pip's script directory on PATH?)" >&2; exit 1; }
chromium_found || { echo "tools: chromium is still not found (CHROMIUM=${CHROMIUM:-unset}; PATH has no chromium)" >&2; exit 1; }
for tool in curl jq oathtool; do
  command -v "$tool" >/dev/null || { echo "tools: $tool is still not on PATH" >&2; exit 1; }
done
