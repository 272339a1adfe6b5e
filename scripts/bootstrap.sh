#!/usr/bin/env bash
# Create .venv and install SellerDesk (with dev extras) into it.
# Idempotent and fast when nothing changed: pip only runs when pyproject.toml
# is newer than the stamp left by the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.sellerdesk-installed"

say() { echo "bootstrap: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Pick an interpreter: python3.11 by name, else python3 when it is 3.11 or newer.
pick_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# A venv is usable when its python runs and has pip; a half-made one (e.g. an
# earlier attempt that failed for lack of ensurepip) is rebuilt with --clear.
# (Checked without importing pip, which alone takes ~0.3 s.)
venv_ok() { [[ -x "$VENV/bin/pip" ]] && "$VENV/bin/python" -c '' >/dev/null 2>&1; }

make_venv() {
    local py
    py="$(pick_python)" || die "Python 3.11 or newer is needed (tried python3.11, python3)."
    if "$py" -m venv --clear "$VENV" >/dev/null 2>&1; then
        return 0
    fi
    # Debian ships venv/ensurepip separately (python3-venv); install it when we can.
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing python3-venv (Debian splits venv out of python3)..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv >/dev/null
        "$py" -m venv --clear "$VENV"
    else
        # Run it again, visibly, so the real error is shown.
        "$py" -m venv --clear "$VENV" ||
            die "could not create $VENV; on Debian/Ubuntu: sudo apt-get install python3-venv"
    fi
}

if ! venv_ok; then
    say "creating $VENV..."
    make_venv
    rm -f "$STAMP"
    venv_ok || die "$VENV was created but has no working pip."
fi

# `-nt` is also true when the stamp does not exist yet.
if [[ pyproject.toml -nt "$STAMP" ]]; then
    if [[ -e "$STAMP" ]]; then
        say "pyproject.toml changed: updating $VENV..."
    else
        say "installing SellerDesk and its dependencies into $VENV (first time takes a few minutes)..."
    fi
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
    touch "$STAMP"
fi
