#!/usr/bin/env bash
# The whole test suite, as `make test` and CI (.ci/run) run it:
#   bootstrap -> ruff -> mypy -> pytest on SQLite -> pytest on PostgreSQL 15.
# Extra arguments go to both pytest runs (e.g. `bash scripts/test.sh -k inbox -x`).
# Every step runs even when an earlier one failed, so one run shows everything;
# the exit status is non-zero when any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

REPORTS="$(mktemp -d "${TMPDIR:-/tmp}/sellerdesk-test.XXXXXX")"
PG_STARTED=0
# Quiet, so that the summary stays the last thing printed.
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    if [[ $PG_STARTED -eq 1 ]]; then
        bash scripts/pg.sh stop >/dev/null 2>&1 || true
    fi
    rm -rf "$REPORTS"
}
trap cleanup EXIT
# Turn Ctrl-C / kill into a normal exit so that the EXIT trap stops PostgreSQL.
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
summary=()
total_passed=0
total_failed=0
total_skipped=0

banner() { printf '\n===== %s =====\n' "$*"; }

# run_step NAME CMD...: run a non-pytest step and record ok/FAILED.
run_step() {
    local name="$1"
    shift
    banner "$name"
    local rc=0
    "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        summary+=("$name: ok")
    else
        summary+=("$name: FAILED (exit $rc)")
        failed=1
    fi
}

# Counts from pytest's JUnit XML: "passed failed skipped" (errors count as failed).
junit_counts() {
    .venv/bin/python - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 0")
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(max(tests - bad - skipped, 0), bad, skipped)
EOF
}

# run_pytest NAME DATABASE_URL [pytest args...]; empty URL means SQLite.
run_pytest() {
    local name="$1" url="$2"
    shift 2
    banner "pytest on $name"
    local xml="$REPORTS/$name.xml" rc=0
    if [[ -n "$url" ]]; then
        SELLERDESK_TEST_DATABASE_URL="$url" .venv/bin/pytest --junitxml="$xml" "$@" || rc=$?
    else
        # Unset so a developer's own setting cannot turn this pass into another backend.
        env -u SELLERDESK_TEST_DATABASE_URL .venv/bin/pytest --junitxml="$xml" "$@" || rc=$?
    fi
    local passed bad skipped
    read -r passed bad skipped < <(junit_counts "$xml")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + bad))
    total_skipped=$((total_skipped + skipped))
    local line="$name: $passed passed, $bad failed, $skipped skipped"
    case $rc in
        0) summary+=("$line") ;;
        5)
            # "No tests collected" is a failure here: a suite that tests nothing must not pass.
            summary+=("$line -- FAILED: no tests collected (pytest exit 5)")
            failed=1
            ;;
        *)
            summary+=("$line -- FAILED (pytest exit $rc)")
            failed=1
            ;;
    esac
}

# Lint/type-check only the folders that exist (benchmarks/ may still be empty of code).
lint_paths=()
for dir in src tests benchmarks; do
    [[ -d $dir ]] && lint_paths+=("$dir")
done
run_step ruff .venv/bin/ruff check "${lint_paths[@]}"
run_step mypy .venv/bin/mypy # files and strictness come from pyproject.toml

# Services and programs the tests start or drive, from Debian, as "file-that-shows-it package":
# Dovecot for the IMAP tests (throw-away instances on loopback), Chromium and CJK fonts for the
# browser tests. Installed when we are root; elsewhere those tests skip saying why (and under
# CI=true the test suite turns that skip into a failure).
SYSTEM_PACKAGES=(
    "/usr/sbin/dovecot dovecot-imapd"
    "/usr/bin/chromium chromium"
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc fonts-noto-cjk"
    "/usr/bin/redis-server redis-server"  # the Redis bus tests (throw-away, loopback)
)
# shellcheck disable=SC2317  # invoked through run_step
ensure_system_packages() {
    local entry path package missing=()
    for entry in "${SYSTEM_PACKAGES[@]}"; do
        read -r path package <<<"$entry"
        [[ -e $path ]] || missing+=("$package")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} from Debian (one time)..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
        return
    fi
    if [[ "${CI:-}" == "true" ]]; then
        echo "missing and this is not root, so they cannot be installed: ${missing[*]}" >&2
        return 1
    fi
    echo "not installed and this is not root: ${missing[*]}; the tests needing them skip" >&2
}
run_step "system packages" ensure_system_packages

run_pytest sqlite "" "$@"

banner "starting PostgreSQL 15"
pg_rc=0
bash scripts/pg.sh start || pg_rc=$?
if [[ $pg_rc -eq 0 ]]; then
    PG_STARTED=1
    run_pytest postgresql "$(bash scripts/pg.sh url)" "$@"
elif [[ $pg_rc -eq 3 && "${CI:-}" != "true" ]]; then
    # A laptop without root or PostgreSQL 15: say so loudly, but don't fail.
    cat >&2 <<'EOF'

##########################################################################
##  SKIPPING the PostgreSQL pass: PostgreSQL 15 is not installed here
##  and this is not root, so it cannot be installed. CI runs this pass.
##  To run it locally: sudo apt-get install postgresql-15
##########################################################################

EOF
    summary+=("postgresql: SKIPPED -- PostgreSQL 15 not installed and not root")
else
    # CI=true (PostgreSQL must be tested there) or a real start failure.
    summary+=("postgresql: FAILED -- could not start PostgreSQL 15 (scripts/pg.sh exit $pg_rc)")
    failed=1
fi

banner "summary"
printf '%s\n' "${summary[@]}"
if [[ $failed -eq 0 ]]; then
    result=passed
else
    result=FAILED
fi
echo "tests $result -- pytest total:"
echo "total: $total_passed passed, $total_failed failed, $total_skipped skipped"
exit "$failed"
