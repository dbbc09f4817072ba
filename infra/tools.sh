#!/usr/bin/env bash
# Installs the tools the tests and the local stack need, each only when it is missing: pip
# is never asked about a tool that works already, so offline machines with the tools
# preinstalled (CI images) never touch PyPI.
set -euo pipefail

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

if ! command -v cfn-lint >/dev/null; then
  echo "tools: installing cfn-lint" >&2
  "$python" -m pip install cfn-lint
  installed=true
fi

# pyenv puts new console scripts on PATH only after a rehash.
if $installed && command -v pyenv >/dev/null; then
  pyenv rehash
fi

"$python" -c 'import moto.server' || { echo "tools: moto is still not importable by $python" >&2; exit 1; }
command -v cfn-lint >/dev/null || { echo "tools: cfn-lint is still not on PATH (is pip's script directory on PATH?)" >&2; exit 1; }
