#!/usr/bin/env bash
# test-all.sh — every test tier of Nubo, in order, with one summary at the end.
#
#   == build        npm ci (when node_modules is missing or older than package-lock.json), tsc
#   == unit+functional (sqlite)   node --test dist/test/ (unit, functional, bus contract incl. RabbitMQ)
#   == functional (postgres)      node --test dist/test/functional with NUBO_TEST_DATABASE
#   == dataplane                  node --test dist/test/dataplane (root): builds the tiny guest
#                                 (cached in NUBO_CACHE_DIR, default /var/tmp/nubo-cache) and boots it under QEMU
#   == conformance                nubo up + Tempest (interop-identity, api-identity-v3,
#                                 interop-image, api-image, interop-object, api-object,
#                                 interop-network, api-network, interop-compute, api-compute
#                                 on the fake compute and network drivers) + openstack CLI smoke
#                                 (identity, image, object, placement, network, compute),
#                                 checked against the bars below; it runs in the background from
#                                 right after the build, beside the node tiers (its output is
#                                 printed after theirs)
#
# The last line printed is "N passed, N failed, N skipped" over all tests of all tiers.
# Exit status is non-zero when any tier failed or any conformance bar was missed.
#
# Usage: bash scripts/test-all.sh [--quick] [--out DIR]
#   --quick      skip the conformance tier (same as NUBO_SKIP_CONFORMANCE=1)
#   --out DIR    where per-test results and logs go (NUBO_TEST_RESULTS, default ./test-results)
# Environment:
#   NUBO_CONFORMANCE_DIR   the shared conformance harness (default: <repo>/../shared/conformance)
#   NUBO_TEST_DATABASE_PG  PostgreSQL URL for the postgres tier
#                          (default postgres://postgres@127.0.0.1:5432/test)
#   NUBO_CONFORMANCE_PORT  base port of the cloud under test (default 25000)
set -euo pipefail

# ---- bars (conformance) -------------------------------------------------------------
# Checked against the last line of each harness run. Empty = not checked.
#            list/run            min passed   max failed
BAR_INTEROP_IDENTITY_MIN_PASSED=16;  BAR_INTEROP_IDENTITY_MAX_FAILED=0
BAR_API_IDENTITY_V3_MIN_PASSED=136;  BAR_API_IDENTITY_V3_MAX_FAILED=
BAR_OSC_IDENTITY_MIN_PASSED=;        BAR_OSC_IDENTITY_MAX_FAILED=0   # identity, image, object, placement and compute steps
BAR_INTEROP_IMAGE_MIN_PASSED=23;     BAR_INTEROP_IMAGE_MAX_FAILED=0
# api-image: 110 tests, 27 of them Glance v1 (on: api_v1 = true; http_image is a file on a local
# HTTP server, which the conformance cloud lets web-download and v1 copy-from fetch). 14 skip for what
# Nubo does not offer: v2 locations (8, show_multiple_locations), multiple stores (2),
# copy-image (1), the cache API (1), a second image endpoint (2, image_remote).
BAR_API_IMAGE_MIN_PASSED=96;         BAR_API_IMAGE_MAX_FAILED=0
# object (Swift): as the reference Swift, 56/56 and 139/141 (the 2 container-sync tests skip:
# not offered, as in the reference's tempest.conf).
BAR_INTEROP_OBJECT_MIN_PASSED=56;    BAR_INTEROP_OBJECT_MAX_FAILED=0
BAR_API_OBJECT_MIN_PASSED=139;       BAR_API_OBJECT_MAX_FAILED=0
# compute runs on the FAKE driver (the issue allows it for the API runs; the dataplane tier
# boots real guests). Volume tests skip until the volume service exists.
# interop-compute: 83 tests, judged on api-compute's run (with the volume service) plus the
# validation run on real guests (compute_validation: the 2 tests that SSH into a server pass
# there; root only).
BAR_INTEROP_COMPUTE_MIN_PASSED=83;   BAR_INTEROP_COMPUTE_MAX_FAILED=0
[ "$(id -u)" -eq 0 ] || BAR_INTEROP_COMPUTE_MIN_PASSED=81
# the validation run: test_create_server's ServersTestJSON (5 tests, 2 of them log in)
VALIDATION_REGEX='test_create_server\.ServersTestJSON\.'
BAR_COMPUTE_VALIDATION_MIN_PASSED=5; BAR_COMPUTE_VALIDATION_MAX_FAILED=0
# api-compute: 595 tests (issue bar 450), with the network and volume services (503 passed when measured).
BAR_API_COMPUTE_MIN_PASSED=500;      BAR_API_COMPUTE_MAX_FAILED=0
# network runs on the FAKE dataplane driver (the dataplane tier wires real guests).
BAR_INTEROP_NETWORK_MIN_PASSED=79;   BAR_INTEROP_NETWORK_MAX_FAILED=0
# volume (Cinder v3) on its FAKE driver (file-backed volumes are the default with real guests).
# api-volume: 217 tests; 36 skip (backups, groups, multiattach, manage, ...).
BAR_INTEROP_VOLUME_MIN_PASSED=65;    BAR_INTEROP_VOLUME_MAX_FAILED=0
BAR_API_VOLUME_MIN_PASSED=181;       BAR_API_VOLUME_MAX_FAILED=0
BAR_API_NETWORK_MIN_PASSED=200;      BAR_API_NETWORK_MAX_FAILED=0

# ---- time limits (seconds; the whole run should stay under ~25 min on 2 cores) ------
LIMIT_NPM_CI=900
LIMIT_NODE_SQLITE=900
LIMIT_NODE_POSTGRES=600
LIMIT_NODE_DATAPLANE=900             # cold tiny guest build (kernel .deb download) + two QEMU boots under TCG
DATAPLANE_TEST_TIMEOUT_MS=600000     # node --test-timeout bounds a whole test file: the dataplane file needs more
LIMIT_CLOUD_START=90
LIMIT_TEMPEST_INTEROP=600
LIMIT_TEMPEST_API_V3=1200
LIMIT_OSC_SMOKE=600
LIMIT_TEMPEST_IMAGE=900
LIMIT_TEMPEST_OBJECT=600
LIMIT_TEMPEST_COMPUTE=1500
LIMIT_TEMPEST_NETWORK=1800
LIMIT_TEMPEST_VALIDATION=900
LIMIT_TEMPEST_VOLUME=900
NODE_TEST_TIMEOUT_MS=120000          # per test (node --test-timeout)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

QUICK=${NUBO_SKIP_CONFORMANCE:-0}
OUT=${NUBO_TEST_RESULTS:-./test-results}
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-all: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CONF=${NUBO_CONFORMANCE_DIR:-$(dirname "$REPO")/shared/conformance}
PG_URL=${NUBO_TEST_DATABASE_PG:-postgres://postgres@127.0.0.1:5432/test}
CONF_PORT=${NUBO_CONFORMANCE_PORT:-25000}
export NO_COLOR=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# the clouds the tiers start (`nubo up`) build no tiny guest image in the background
export NUBO_BUILD_TINY_GUEST=${NUBO_BUILD_TINY_GUEST:-0}

# ---- bookkeeping ----------------------------------------------------------------------
TOTAL_PASSED=0; TOTAL_FAILED=0; TOTAL_SKIPPED=0
TIER_REPORT=()       # one "name: result" line per tier, printed in the summary
FAILED_TIERS=()
T_START=$SECONDS
CLOUD_PID=

header() { echo; echo "== $1"; TIER_T0=$SECONDS; }
took() { echo "$((SECONDS - TIER_T0))s"; }
# tier_result NAME OK|FAIL TEXT
tier_result() {
    local line="$1: $3 ($(took))"
    TIER_REPORT+=("$([ "$2" = OK ] && echo "ok  " || echo "FAIL") $line")
    [ "$2" = OK ] || FAILED_TIERS+=("$1")
    echo "-- $1: $([ "$2" = OK ] && echo ok || echo FAILED): $3 ($(took))"
}
add_counts() { TOTAL_PASSED=$((TOTAL_PASSED + $1)); TOTAL_FAILED=$((TOTAL_FAILED + $2)); TOTAL_SKIPPED=$((TOTAL_SKIPPED + $3)); }

stop_cloud() {
    # a background harness (start_harness_bg) dies with the run
    [ -z "${BG_PID:-}" ] || pkill -TERM -P "$BG_PID" 2>/dev/null || true
    [ -n "$CLOUD_PID" ] || return 0
    if kill -0 "$CLOUD_PID" 2>/dev/null; then kill -KILL "$CLOUD_PID" 2>/dev/null || true; fi
    CLOUD_PID=
}
trap stop_cloud EXIT
trap 'echo "test-all: interrupted" >&2; exit 130' INT TERM

# ---- (a) build --------------------------------------------------------------------------
header build
build_ok=OK; build_msg=
if [ ! -d node_modules ] || [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "npm ci (node_modules missing or older than package-lock.json)"
    if ! timeout "$LIMIT_NPM_CI" npm ci --no-audit --no-fund 2>&1 | tee "$OUT/npm-ci.log" | tail -n 20; then
        build_ok=FAIL; build_msg="npm ci failed (log: $OUT/npm-ci.log); "
    fi
fi
# tsc still emits JavaScript on type errors, so the later tiers run on what was emitted.
if npx --no-install tsc -p . >"$OUT/tsc.log" 2>&1; then
    build_msg+="tsc: no type errors"
else
    cat "$OUT/tsc.log"
    build_ok=FAIL
    build_msg+="tsc: $(grep -c 'error TS' "$OUT/tsc.log" || true) type errors"
fi
tier_result build "$build_ok" "$build_msg"

# ---- node test runner tiers -----------------------------------------------------------
# run_node_tier NAME LOGFILE LIMIT ENV_ASSIGNMENTS... -- PATH...
run_node_tier() {
    local name=$1 log=$2 limit=$3; shift 3
    local rc=0 pass fail cancelled skipped todo envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    # spec reporter to the log and the terminal; --test-timeout bounds each test, timeout the whole tier
    timeout "$limit" env "${envs[@]}" node --test --test-concurrency=1 --test-timeout="$NODE_TEST_TIMEOUT_MS" \
        --test-reporter=spec "$@" </dev/null 2>&1 | tee "$log" || rc=$?
    count() { sed -n "s/^ℹ $1 \([0-9][0-9]*\)\$/\1/p" "$log" | tail -n 1; }
    pass=$(count pass); fail=$(count fail); cancelled=$(count cancelled); skipped=$(count skipped); todo=$(count todo)
    if [ -z "$pass" ] || [ -z "$fail" ]; then
        add_counts 0 1 0
        tier_result "$name" FAIL "no test summary from node --test (exit $rc; timed out after ${limit}s?) log: $log"
        return 0
    fi
    fail=$((fail + ${cancelled:-0})); skipped=$((${skipped:-0} + ${todo:-0}))
    add_counts "$pass" "$fail" "$skipped"
    local summary="$pass passed, $fail failed, $skipped skipped"
    if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ]; then
        # the spec reporter repeats failing tests under "✖ failing tests:"; name them here too
        local names
        names=$(awk '
            /^✖ failing tests:/ { on = 1; next }
            !on { next }
            /^test at / { loc = substr($0, 9); next }
            want { sub(/^ +/, ""); print "      " substr($0, 1, 300); want = 0; next }
            /^✖ / { print "   " $0 "  [" loc "]"; want = 1 }' "$log")
        [ -z "$names" ] || { echo "failing tests:"; echo "$names"; }
        tier_result "$name" FAIL "$summary (exit $rc)"
    else
        tier_result "$name" OK "$summary"
    fi
}

# ---- (d) conformance ------------------------------------------------------------------
# check_bar NAME PASSED FAILED MIN_PASSED MAX_FAILED -> prints misses, returns 1 on a miss
check_bar() {
    local name=$1 p=$2 f=$3 minp=$4 maxf=$5 ok=0
    if [ -n "$minp" ] && [ "$p" -lt "$minp" ]; then echo "BAR MISSED: $name passed $p < $minp"; ok=1; fi
    if [ -n "$maxf" ] && [ "$f" -gt "$maxf" ]; then echo "BAR MISSED: $name failed $f > $maxf"; ok=1; fi
    return $ok
}
bar_text() { # MIN_PASSED MAX_FAILED
    local t=()
    [ -z "$1" ] || t+=("passed >= $1")
    [ -z "$2" ] || t+=("failed <= $2")
    local IFS=,; echo "${t[*]:-none}" | sed 's/,/, /g'
}

# run_harness NAME BAR_MIN_PASSED BAR_MAX_FAILED TSV KIND(tempest|osc) LIMIT COMMAND...
run_harness() {
    local name=$1 minp=$2 maxf=$3 tsv=$4 kind=$5 limit=$6; shift 6
    local log="$OUT/$name.log" rc=0
    TIER_T0=$SECONDS
    echo
    echo "-- $name (bar: $(bar_text "$minp" "$maxf"))"
    rm -f "$tsv"
    timeout "$limit" "$@" </dev/null 2>&1 | tee "$log" || rc=$?
    judge_harness "$name" "$minp" "$maxf" "$tsv" "$kind" "$log" "$rc"
}

# A harness run that is mostly waiting (Tempest's network client sleeps 10 s before every
# subnet delete) runs in the background beside the others: start_harness_bg NAME TSV LIMIT
# COMMAND..., later finish_harness_bg NAME MIN_PASSED MAX_FAILED TSV KIND prints its output
# and judges it like run_harness.
BG_PID= BG_T0=
start_harness_bg() {
    local name=$1 tsv=$2 limit=$3; shift 3
    rm -f "$tsv" "$OUT/$name.rc"
    echo "-- $name: started in the background (output follows when it ends)"
    BG_T0=$SECONDS
    ( rc=0; timeout "$limit" "$@" </dev/null >"$OUT/$name.log" 2>&1 || rc=$?; echo "$rc" >"$OUT/$name.rc" ) &
    BG_PID=$!
}
finish_harness_bg() {
    local name=$1 minp=$2 maxf=$3 tsv=$4 kind=$5
    [ -z "$BG_PID" ] || wait "$BG_PID" || true
    BG_PID=
    TIER_T0=$BG_T0
    echo
    echo "-- $name (bar: $(bar_text "$minp" "$maxf")), ran in the background for $((SECONDS - BG_T0))s"
    cat "$OUT/$name.log"
    judge_harness "$name" "$minp" "$maxf" "$tsv" "$kind" "$OUT/$name.log" "$(cat "$OUT/$name.rc" 2>/dev/null || echo 1)"
}

judge_harness() {
    local name=$1 minp=$2 maxf=$3 tsv=$4 kind=$5 log=$6 rc=$7 last p f s
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    if [ -z "$last" ]; then
        add_counts 0 1 0
        tier_result "conformance $name" FAIL "harness gave no result line (exit $rc) log: $log"
        return 0
    fi
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p'); s=${s:-0}
    add_counts "$p" "$f" "$s"
    if [ -f "$tsv" ]; then
        local failing
        if [ "$kind" = tempest ]; then
            # grouped by reason (the last exception line), most frequent first
            failing=$(awk -F'\t' '
                $2 == "fail" || $2 == "notrun" || $2 == "uxsuccess" {
                    r = $3; if (length(r) > 300) r = substr(r, 1, 300) "..."
                    if (r == "") r = "(no reason recorded)"
                    name = $1; sub(/\[.*$/, "", name); sub(/^tempest\.api\./, "", name)
                    if (!(r in n)) order[++k] = r
                    n[r]++; names[r] = names[r] "      " $2 " " name "\n"
                }
                END {
                    do { swapped = 0; for (i = 1; i < k; i++) if (n[order[i]] < n[order[i + 1]]) { t = order[i]; order[i] = order[i + 1]; order[i + 1] = t; swapped = 1 } } while (swapped)
                    for (i = 1; i <= k; i++) printf "   %d x %s\n%s", n[order[i]], order[i], names[order[i]]
                }' "$tsv")
        else
            failing=$(awk -F'\t' '$1=="FAIL" {printf "   FAIL %s %s :: %s\n", $2, $3, $4}' "$tsv")
        fi
        if [ -n "$failing" ]; then echo "failing tests of $name ($tsv):"; echo "$failing"; fi
    fi
    if [ "$rc" -ne 0 ]; then
        tier_result "conformance $name" FAIL "$last (harness exit $rc)"
    elif check_bar "$name" "$p" "$f" "$minp" "$maxf"; then
        tier_result "conformance $name" OK "$last; bar $(bar_text "$minp" "$maxf") met"
    else
        tier_result "conformance $name" FAIL "$last; bar $(bar_text "$minp" "$maxf") MISSED"
    fi
}

http_ok() { curl -s -o /dev/null -m 3 -f "$1"; }

conformance() {
    header conformance
    local problem=
    [ -x "$CONF/run-tempest" ] && [ -x "$CONF/run-osc-smoke" ] || problem="harness not found in $CONF (set NUBO_CONFORMANCE_DIR)"
    [ -n "$problem" ] || command -v tempest >/dev/null || problem="tempest is not installed (run: bash scripts/install-system-deps.sh)"
    [ -n "$problem" ] || command -v openstack >/dev/null || problem="openstack CLI is not installed (run: bash scripts/install-system-deps.sh)"
    [ -n "$problem" ] || ! http_ok "http://127.0.0.1:$CONF_PORT/v3" || problem="something already answers on 127.0.0.1:$CONF_PORT (NUBO_CONFORMANCE_PORT)"
    if [ -n "$problem" ]; then add_counts 0 1 0; tier_result conformance FAIL "$problem"; return 0; fi

    local data cloudlog="$OUT/nubo-conformance.log"
    data=$(mktemp -d "${TMPDIR:-/tmp}/nubo-conformance.XXXXXX")
    echo "starting: node dist/src/cli/main.js up --data-dir $data --base-port $CONF_PORT (log: $cloudlog)"
    NUBO_IMAGE_WEB_DOWNLOAD_PREFIXES=http:// NUBO_COMPUTE_DRIVER=fake NUBO_NETWORK_DRIVER=fake NUBO_VOLUME_DRIVER=fake node dist/src/cli/main.js up --data-dir "$data" --no-clouds-yaml --base-port "$CONF_PORT" --services identity,placement,image,object,network,volume,compute --fake-hosts 2 \
        --lockout-attempts 2 --lockout-duration 5 --unique-last-passwords 2 </dev/null >"$cloudlog" 2>&1 &
    CLOUD_PID=$!
    local t0=$SECONDS
    until http_ok "http://127.0.0.1:$CONF_PORT/v3" && [ -s "$data/clouds.yaml" ]; do
        if ! kill -0 "$CLOUD_PID" 2>/dev/null || [ $((SECONDS - t0)) -ge "$LIMIT_CLOUD_START" ]; then
            tail -n 30 "$cloudlog"
            stop_cloud
            add_counts 0 1 0
            tier_result conformance FAIL "the cloud did not come up within ${LIMIT_CLOUD_START}s"
            rm -rf "$data"
            return 0
        fi
        sleep 0.5
    done
    echo "cloud answers on http://127.0.0.1:$CONF_PORT/v3 after $((SECONDS - t0))s (pid $CLOUD_PID)"

    # admin credentials: cloud "nubo" of the data dir's clouds.yaml (read with the project's yaml package)
    local kv
    unset OS_CLOUD OS_TOKEN OS_AUTH_TYPE
    while IFS= read -r kv; do export "${kv%%=*}=${kv#*=}"; done < <(node --input-type=module -e '
        import { readFileSync } from "node:fs";
        import { parse } from "yaml";
        const c = parse(readFileSync(process.argv[1], "utf8")).clouds.nubo;
        const out = { OS_AUTH_URL: c.auth.auth_url, OS_USERNAME: c.auth.username, OS_PASSWORD: c.auth.password,
          OS_PROJECT_NAME: c.auth.project_name, OS_USER_DOMAIN_NAME: c.auth.user_domain_name,
          OS_PROJECT_DOMAIN_NAME: c.auth.project_domain_name, OS_REGION_NAME: c.region_name, OS_IDENTITY_API_VERSION: "3",
          OS_INTERFACE: c.interface };
        for (const [k, v] of Object.entries(out)) if (v !== undefined && v !== null) console.log(`${k}=${v}`);
    ' "$data/clouds.yaml")
    if [ -z "${OS_AUTH_URL:-}" ] || [ -z "${OS_PASSWORD:-}" ]; then
        stop_cloud
        add_counts 0 1 0
        tier_result conformance FAIL "no admin credentials (cloud nubo) in $data/clouds.yaml"
        rm -rf "$data"
        return 0
    fi
    echo "OS_AUTH_URL=$OS_AUTH_URL OS_USERNAME=${OS_USERNAME:-} OS_PROJECT_NAME=${OS_PROJECT_NAME:-} OS_REGION_NAME=${OS_REGION_NAME:-}"

    # api-network contains interop-network: one run, and the interop bar is checked on its
    # tests (scripts/subset-results.py). Tempest's delete_subnet sleeps 10 s before each delete,
    # so the run is mostly waiting: it runs beside the identity, image and object runs, with 12
    # workers. IPv6 subnet attributes are on (the DHCPv6 tests).
    printf '[network-feature-enabled]\nipv6_subnet_attributes = true\n' >"$OUT/tempest-network.conf"
    start_harness_bg api-network "$OUT/api-network.tsv" "$((LIMIT_TEMPEST_NETWORK + 60))" \
        "$CONF/run-tempest" --list api-network --results "$OUT/api-network.tsv" --concurrency 12 --timeout "$LIMIT_TEMPEST_NETWORK" \
        --extra-conf "$OUT/tempest-network.conf"
    run_harness interop-identity "$BAR_INTEROP_IDENTITY_MIN_PASSED" "$BAR_INTEROP_IDENTITY_MAX_FAILED" \
        "$OUT/interop-identity.tsv" tempest "$((LIMIT_TEMPEST_INTEROP + 60))" \
        "$CONF/run-tempest" --list interop-identity --results "$OUT/interop-identity.tsv" --timeout "$LIMIT_TEMPEST_INTEROP"
    run_harness api-identity-v3 "$BAR_API_IDENTITY_V3_MIN_PASSED" "$BAR_API_IDENTITY_V3_MAX_FAILED" \
        "$OUT/api-identity-v3.tsv" tempest "$((LIMIT_TEMPEST_API_V3 + 60))" \
        "$CONF/run-tempest" --list api-identity-v3 --results "$OUT/api-identity-v3.tsv" --concurrency 2 --timeout "$LIMIT_TEMPEST_API_V3"
    run_harness interop-image "$BAR_INTEROP_IMAGE_MIN_PASSED" "$BAR_INTEROP_IMAGE_MAX_FAILED" \
        "$OUT/interop-image.tsv" tempest "$((LIMIT_TEMPEST_IMAGE + 60))" \
        "$CONF/run-tempest" --list interop-image --results "$OUT/interop-image.tsv" --timeout "$LIMIT_TEMPEST_IMAGE"
    # image import on (glance-direct, web-download, glance-download); Nubo reserves os_glance_*
    # properties; Glance v1 on. There is no internet here: web-download and v1 copy-from fetch
    # http_image from a local HTTP server (the cloud allows http:// URLs, like Glance's defaults).
    local http_dir="$OUT/http-images" http_port=$((CONF_PORT + 99)) http_pid
    mkdir -p "$http_dir" && head -c 1048576 /dev/urandom >"$http_dir/guest.img"
    python3 -m http.server --bind 127.0.0.1 --directory "$http_dir" "$http_port" >"$OUT/http-images.log" 2>&1 &
    http_pid=$!
    printf '[image-feature-enabled]\nos_glance_reserved = true\napi_v1 = true\n[image]\nhttp_image = http://127.0.0.1:%s/guest.img\n' "$http_port" >"$OUT/tempest-image.conf"
    run_harness api-image "$BAR_API_IMAGE_MIN_PASSED" "$BAR_API_IMAGE_MAX_FAILED" \
        "$OUT/api-image.tsv" tempest "$((LIMIT_TEMPEST_IMAGE + 60))" \
        env IMAGE_IMPORT=1 "$CONF/run-tempest" --list api-image --results "$OUT/api-image.tsv" \
        --extra-conf "$OUT/tempest-image.conf" --concurrency 2 --timeout "$LIMIT_TEMPEST_IMAGE"
    kill "$http_pid" 2>/dev/null || true
    run_harness interop-object "$BAR_INTEROP_OBJECT_MIN_PASSED" "$BAR_INTEROP_OBJECT_MAX_FAILED" \
        "$OUT/interop-object.tsv" tempest "$((LIMIT_TEMPEST_OBJECT + 60))" \
        "$CONF/run-tempest" --list interop-object --results "$OUT/interop-object.tsv" --timeout "$LIMIT_TEMPEST_OBJECT"
    run_harness api-object "$BAR_API_OBJECT_MIN_PASSED" "$BAR_API_OBJECT_MAX_FAILED" \
        "$OUT/api-object.tsv" tempest "$((LIMIT_TEMPEST_OBJECT + 60))" \
        "$CONF/run-tempest" --list api-object --results "$OUT/api-object.tsv" --concurrency 2 --timeout "$LIMIT_TEMPEST_OBJECT"
    # The volume and compute runs use one image named here: left to itself the harness takes the
    # smallest active image, which after the image runs can be a leftover a test deletes midway.
    # Two of them: some tests rebuild to "the other image".
    local img_file="$OUT/conformance-guest.raw" img img2
    head -c 1048576 /dev/zero >"$img_file"
    img=$(openstack image create --public --disk-format raw --container-format bare --file "$img_file" nubo-conformance-guest -f value -c id 2>>"$OUT/openstack-cli.log" || true)
    img2=$(openstack image create --public --disk-format raw --container-format bare --file "$img_file" nubo-conformance-guest-alt -f value -c id 2>>"$OUT/openstack-cli.log" || true)
    local img_args=()
    [ -z "$img" ] || [ -z "$img2" ] || img_args=(--image-ref "$img" --image-ref-alt "$img2")
    # volume: while api-network still runs in the background
    run_harness interop-volume "$BAR_INTEROP_VOLUME_MIN_PASSED" "$BAR_INTEROP_VOLUME_MAX_FAILED" \
        "$OUT/interop-volume.tsv" tempest "$((LIMIT_TEMPEST_VOLUME + 60))" \
        "$CONF/run-tempest" --list interop-volume --results "$OUT/interop-volume.tsv" --timeout "$LIMIT_TEMPEST_VOLUME" "${img_args[@]}"
    run_harness api-volume "$BAR_API_VOLUME_MIN_PASSED" "$BAR_API_VOLUME_MAX_FAILED" \
        "$OUT/api-volume.tsv" tempest "$((LIMIT_TEMPEST_VOLUME + 60))" \
        "$CONF/run-tempest" --list api-volume --results "$OUT/api-volume.tsv" --concurrency 4 --timeout "$LIMIT_TEMPEST_VOLUME" "${img_args[@]}"
    # api-network ran in the background since the identity runs (see start_harness_bg)
    finish_harness_bg api-network "$BAR_API_NETWORK_MIN_PASSED" "$BAR_API_NETWORK_MAX_FAILED" "$OUT/api-network.tsv" tempest
    run_harness interop-network "$BAR_INTEROP_NETWORK_MIN_PASSED" "$BAR_INTEROP_NETWORK_MAX_FAILED" \
        "$OUT/interop-network.tsv" tempest 60 \
        python3 scripts/subset-results.py "$CONF/lists/interop-network.txt" "$OUT/interop-network.tsv" "$OUT/api-network.tsv"
    # Microversions: Tempest runs only 2.1 unless told a range; Nubo serves 2.1-2.93, so the
    # runs say `latest` and the tests of later microversions run too. The cloud runs two fake
    # hosts, so the multi-node, live and cold migration tests run; personality (before 2.57)
    # too. Servers get their ports from the network service (Tempest makes a network, subnet
    # and router per test project).
    printf '[compute]\nmax_microversion = latest\nmin_compute_nodes = 2\n[compute-feature-enabled]\nlive_migration = true\ncold_migration = true\npersonality = true\n' >"$OUT/tempest-compute.conf"
    # The fake driver answers in milliseconds: a waiter that has waited 60 s waits for nothing
    # (Tempest's default build_timeout, 300 s, only stretches the run on a failure).
    run_harness api-compute "$BAR_API_COMPUTE_MIN_PASSED" "$BAR_API_COMPUTE_MAX_FAILED" \
        "$OUT/api-compute.tsv" tempest "$((LIMIT_TEMPEST_COMPUTE + 60))" \
        env BUILD_TIMEOUT=60 "$CONF/run-tempest" --list api-compute --results "$OUT/api-compute.tsv" --concurrency 6 --timeout "$LIMIT_TEMPEST_COMPUTE" \
        --extra-conf "$OUT/tempest-compute.conf" "${img_args[@]}"
    # interop-compute is judged after both lanes: it is part of api-compute plus the
    # validation run on real guests (compute_validation)
    run_harness osc-smoke "$BAR_OSC_IDENTITY_MIN_PASSED" "$BAR_OSC_IDENTITY_MAX_FAILED" \
        "$OUT/osc-smoke.tsv" osc "$LIMIT_OSC_SMOKE" \
        "$CONF/run-osc-smoke" --services identity,image,object,placement,network,volume,compute --results "$OUT/osc-smoke.tsv"

    # stop the cloud: SIGTERM, then it must exit by itself with status 0
    TIER_T0=$SECONDS
    echo
    echo "-- stopping the cloud (SIGTERM to pid $CLOUD_PID)"
    local rc=0 i
    if ! kill -0 "$CLOUD_PID" 2>/dev/null; then
        wait "$CLOUD_PID" || rc=$?
        CLOUD_PID=
        tail -n 30 "$cloudlog"
        tier_result "conformance cloud" FAIL "the cloud had already exited (status $rc) before the end of the runs"
    else
        kill -TERM "$CLOUD_PID" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do kill -0 "$CLOUD_PID" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$CLOUD_PID" 2>/dev/null; then
            stop_cloud
            tier_result "conformance cloud" FAIL "the cloud did not exit within 10s of SIGTERM (killed)"
        else
            wait "$CLOUD_PID" || rc=$?
            CLOUD_PID=
            if [ "$rc" -eq 0 ]; then tier_result "conformance cloud" OK "exited cleanly on SIGTERM"
            else tail -n 30 "$cloudlog"; tier_result "conformance cloud" FAIL "exit status $rc after SIGTERM"; fi
        fi
    fi
    if grep -q '"level":50\|"level":60' "$cloudlog"; then
        echo "the cloud logged $(grep -c '"level":50\|"level":60' "$cloudlog") error lines (see $cloudlog); first ones:"
        grep '"level":50\|"level":60' "$cloudlog" | head -n 5 | cut -c1-400
    fi
    server_errors "$cloudlog"
    rm -rf "$data"
}

# What the cloud answered with 4xx/5xx during the conformance runs, by status, method and
# route (ids folded to {id}). Tempest's negative tests cause many 4xx on purpose; unexpected
# 404s usually mean a missing route, and any 5xx is a bug.
server_errors() {
    [ -s "$1" ] || return 0
    echo
    echo "-- responses >= 400 from the cloud during the runs (count, status, method, route):"
    node -e '
        const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
        const seen = new Map();
        for (const l of lines) {
          if (!l.startsWith("{")) continue;
          let o; try { o = JSON.parse(l); } catch { continue; }
          if (o.msg !== "request" || !(o.status >= 400)) continue;
          const route = String(o.url).split("?")[0].replace(/[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f-]{27}/g, "{id}");
          const k = `${o.status} ${o.method} ${route}`;
          seen.set(k, (seen.get(k) ?? 0) + 1);
        }
        const rows = [...seen].sort((a, b) => (b[0] >= "500") - (a[0] >= "500") || b[1] - a[1]);
        for (const [k, n] of rows.slice(0, 40)) console.log(`   ${String(n).padStart(4)}  ${k}`);
        if (rows.length > 40) console.log(`   ... ${rows.length - 40} more kinds`);
        if (!rows.length) console.log("   none");
    ' "$1" || true
}

# ---- conformance on real guests: the Tempest tests that log in to a server -------------------
# Tempest's validation tests SSH into a server through a floating IP; the fake driver has no
# guest to log in to, so they run on a second cloud with the qemu driver, the Linux dataplane
# and the tiny guest (root; after the dataplane tier, which leaves the tiny guest built in
# NUBO_CACHE_DIR). Its results join api-compute's for the interop-compute bar.
compute_validation() {
    header "conformance on real guests"
    local problem= data cloudlog="$OUT/nubo-validation.log" port=$((CONF_PORT + 1000)) cache=${NUBO_CACHE_DIR:-/var/tmp/nubo-cache}
    [ -x "$CONF/run-tempest" ] || problem="harness not found in $CONF"
    [ -n "$problem" ] || command -v tempest >/dev/null || problem="tempest is not installed (run: bash scripts/install-system-deps.sh)"
    [ -n "$problem" ] || ! http_ok "http://127.0.0.1:$port/v3" || problem="something already answers on 127.0.0.1:$port"
    if [ -n "$problem" ]; then add_counts 0 1 0; tier_result "conformance compute-validation" FAIL "$problem"; return 0; fi
    data=$(mktemp -d "${TMPDIR:-/tmp}/nubo-validation.XXXXXX")
    # the tiny guest from the dataplane tier's cache; an external network of its own
    mkdir -p "$data/cache" && ln -s "$cache" "$data/cache/tiny-guest"
    printf 'network:\n  externalCidr: 172.31.248.0/24\n  externalHostAddress: 172.31.248.1\n  privateCidr: 10.78.0.0/24\n' >"$data/nubo.yaml"
    local cloud_env=(NUBO_BUILD_TINY_GUEST=1 NUBO_COMPUTE_DRIVER=qemu NUBO_NETWORK_DRIVER=linux NUBO_NETWORK_PREFIX=ncv-)
    echo "starting: ${cloud_env[*]} node dist/src/cli/main.js up --data-dir $data --base-port $port (log: $cloudlog)"
    env "${cloud_env[@]}" node dist/src/cli/main.js up --data-dir "$data" --no-clouds-yaml --base-port "$port" \
        --services identity,placement,image,network,compute </dev/null >"$cloudlog" 2>&1 &
    CLOUD_PID=$!
    local t0=$SECONDS img= pub=
    local os=(env OS_CLIENT_CONFIG_FILE="$data/clouds.yaml" OS_CLOUD=nubo)
    # up, and the tiny guest registered (first start registers it in the background)
    until [ -n "$img" ]; do
        if ! kill -0 "$CLOUD_PID" 2>/dev/null || [ $((SECONDS - t0)) -ge 180 ]; then
            tail -n 30 "$cloudlog"; stop_cloud
            add_counts 0 1 0; tier_result "conformance compute-validation" FAIL "no active tinyos image within 180s"
            env "${cloud_env[@]}" node dist/src/cli/main.js network teardown --data-dir "$data" >/dev/null 2>&1 || true
            rm -rf "$data"; return 0
        fi
        sleep 2
        [ -s "$data/clouds.yaml" ] || continue
        img=$("${os[@]}" openstack image list --name tinyos --status active -f value -c ID 2>/dev/null | head -n 1 || true)
    done
    pub=$("${os[@]}" openstack network show public -f value -c id 2>>"$OUT/openstack-cli.log" || true)
    echo "cloud up with the tiny guest image $img after $((SECONDS - t0))s; public network $pub"
    # one server (the class's), booted once; its tests log in with the keypair as root
    run_harness compute-validation "$BAR_COMPUTE_VALIDATION_MIN_PASSED" "$BAR_COMPUTE_VALIDATION_MAX_FAILED" \
        "$OUT/compute-validation.tsv" tempest "$((LIMIT_TEMPEST_VALIDATION + 60))" \
        "${os[@]}" IMAGE_SSH_USER=root BUILD_TIMEOUT=300 "$CONF/run-tempest" --list interop-compute --regex "$VALIDATION_REGEX" \
        --validation --image-ref "$img" --image-ref-alt "$img" --flavor-ref 42 --flavor-ref-alt 1 --public-network-id "$pub" \
        --results "$OUT/compute-validation.tsv" --concurrency 1 --timeout "$LIMIT_TEMPEST_VALIDATION"
    # stop the cloud, then remove what it made on the machine (guests, namespaces, daemons)
    kill -TERM "$CLOUD_PID" 2>/dev/null || true
    local i; for ((i = 0; i < 80; i++)); do kill -0 "$CLOUD_PID" 2>/dev/null || break; sleep 0.25; done
    stop_cloud
    pkill -KILL -f "qemu-system.*$data" 2>/dev/null || true
    env "${cloud_env[@]}" node dist/src/cli/main.js network teardown --data-dir "$data" || echo "network teardown failed (namespaces ncv-* may remain)"
    server_errors "$cloudlog"
    rm -rf "$data"
}

# ---- run: conformance in the background beside the node tiers ---------------------------
# The conformance runs are mostly waiting (Tempest's network client sleeps 10 s before each
# subnet delete; clients wait on the cloud), so they run as a second lane from right after
# the build while the node tiers run in the foreground. Their output is kept in a file and
# printed when both lanes are done; their counts and tier lines come back through a file.
LANE_PID=
if [ "$QUICK" = 1 ]; then
    echo; echo "== conformance"; echo "-- conformance: skipped (--quick / NUBO_SKIP_CONFORMANCE=1)"
    TIER_REPORT+=("skip conformance: skipped (--quick)")
else
    echo; echo "== conformance: started in the background (output follows the other tiers; log: $OUT/conformance.out)"
    (
        TOTAL_PASSED=0; TOTAL_FAILED=0; TOTAL_SKIPPED=0; TIER_REPORT=(); FAILED_TIERS=()
        trap stop_cloud EXIT
        conformance
        {
            echo "$TOTAL_PASSED $TOTAL_FAILED $TOTAL_SKIPPED"
            for line in "${TIER_REPORT[@]}"; do echo "R $line"; done
            for t in "${FAILED_TIERS[@]}"; do echo "F $t"; done
        } >"$OUT/conformance.state"
    ) >"$OUT/conformance.out" 2>&1 &
    LANE_PID=$!
fi
# the lane's harness runs in the foreground of its shell, which would see a signal only after
# it: on an interrupt the whole process tree is stopped (the cloud gets SIGTERM too)
kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill -TERM "$1" 2>/dev/null || true; }
stop_lane() { [ -z "$LANE_PID" ] || kill_tree "$LANE_PID"; }
trap 'stop_lane; stop_cloud' EXIT

# ---- (b) unit + functional on SQLite (+ bus contract on RabbitMQ) -------------------
header "unit+functional (sqlite)"
if [ -n "${CI:-}" ]; then echo "CI is set: the RabbitMQ bus contract suite must run (not skip)"; fi
# (the dataplane tests skip themselves here: the dataplane tier below runs them)
run_node_tier "unit+functional (sqlite)" "$OUT/node-sqlite.log" "$LIMIT_NODE_SQLITE" -u NUBO_TEST_DATABASE NUBO_SKIP_DATAPLANE=1 -- dist/test/

# ---- (c) functional on PostgreSQL -----------------------------------------------------
header "functional (postgres)"
echo "NUBO_TEST_DATABASE=$PG_URL"
run_node_tier "functional (postgres)" "$OUT/node-postgres.log" "$LIMIT_NODE_POSTGRES" NUBO_TEST_DATABASE="$PG_URL" -- dist/test/functional

# ---- dataplane: real QEMU guests (root) -------------------------------------------------
header dataplane
if [ "$(id -u)" -eq 0 ]; then
    echo "NUBO_CACHE_DIR=${NUBO_CACHE_DIR:-/var/tmp/nubo-cache} (tiny guest build cache)"
    NODE_TEST_TIMEOUT_MS=$DATAPLANE_TEST_TIMEOUT_MS \
        run_node_tier dataplane "$OUT/node-dataplane.log" "$LIMIT_NODE_DATAPLANE" -u NUBO_SKIP_DATAPLANE -- dist/test/dataplane/
    [ "$QUICK" = 1 ] || compute_validation
else
    echo "-- dataplane: skipped (not root: QEMU, taps and namespaces need root)"
    TIER_REPORT+=("skip dataplane: skipped (not root)")
fi

# ---- the conformance lane's results ------------------------------------------------------
if [ -n "$LANE_PID" ]; then
    wait "$LANE_PID" || true
    LANE_PID=
    cat "$OUT/conformance.out"
    if [ -s "$OUT/conformance.state" ]; then
        { read -r p f s
          add_counts "$p" "$f" "$s"
          while IFS= read -r line; do
              case "$line" in R\ *) TIER_REPORT+=("${line#R }") ;; F\ *) FAILED_TIERS+=("${line#F }") ;; esac
          done; } <"$OUT/conformance.state"
    else
        add_counts 0 1 0
        TIER_REPORT+=("FAIL conformance: the lane ended without results (see $OUT/conformance.out)")
        FAILED_TIERS+=(conformance)
    fi
fi

# interop-compute: its tests out of api-compute (fake driver) and the validation run (real guests)
if [ "$QUICK" != 1 ]; then
    validation_tsv=(); [ ! -f "$OUT/compute-validation.tsv" ] || validation_tsv=("$OUT/compute-validation.tsv")
    run_harness interop-compute "$BAR_INTEROP_COMPUTE_MIN_PASSED" "$BAR_INTEROP_COMPUTE_MAX_FAILED" \
        "$OUT/interop-compute.tsv" tempest 60 \
        python3 scripts/subset-results.py "$CONF/lists/interop-compute.txt" "$OUT/interop-compute.tsv" "$OUT/api-compute.tsv" "${validation_tsv[@]}"
fi

# ---- summary ----------------------------------------------------------------------------
echo
echo "== summary ($((SECONDS - T_START))s, results in $OUT)"
for line in "${TIER_REPORT[@]}"; do echo "  $line"; done
if [ ${#FAILED_TIERS[@]} -gt 0 ]; then
    echo "FAILED: ${FAILED_TIERS[*]}"
fi
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
[ ${#FAILED_TIERS[@]} -eq 0 ]
