#!/usr/bin/env bash
# Run the compatibility suites:
#   compat/differential.test.mjs  standin against a real MockServer, case by case (compat/cases/*.json)
#   compat/client.test.mjs        the official mockserver-client npm package driving a server
#   compat/wiremock.test.mjs      WireMock mappings imported into standin, against a real WireMock,
#                                 and standin's WireMock export loaded back into WireMock
#                                 (compat/wiremock/cases.json)
#   compat/exports.test.mjs       standin's MockServer and OpenAPI exports loaded into a real
#                                 MockServer, its Postman export read by Postman's SDK
#   compat/corpus.test.mjs        real-world MockServer expectation files (compat/corpus/mockserver)
#                                 loaded into both servers, requests derived from each compared
#
# Usage (from anywhere):
#   compat/run.sh                                  # both suites, standin compared with MockServer
#   COMPAT_TARGETS=mockserver COMPAT_CLIENT_TARGET=mockserver compat/run.sh   # validate against MockServer alone
#   compat/run.sh compat/client.test.mjs           # only the given test files
#
# This script builds nothing Rust: build standin first (cargo build -p standin), or point
# STANDIN_BIN at a binary. Other knobs (see the test files): COMPAT_CASES, COMPAT_CASE,
# COMPAT_CASES_DIR, MOCKSERVER_URL, STANDIN_URL, COMPAT_TOTAL_TIMEOUT (seconds, default 1800),
# COMPAT_REPORTER (node test reporter, default spec).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

# --- dependencies -------------------------------------------------------------------------------
if [ ! -d "$here/node_modules/mockserver-client" ] || [ ! -d "$here/node_modules/mockserver-node" ] \
  || [ ! -d "$here/node_modules/wiremock" ]; then
  echo "compat: installing npm dependencies (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund)
fi

needs_java=1
case ",${COMPAT_TARGETS:-mockserver,standin}," in
  *,mockserver,*) ;;
  *) [ "${COMPAT_CLIENT_TARGET:-standin}" = "mockserver" ] || needs_java=0 ;;
esac
if [ -n "${MOCKSERVER_URL:-}" ]; then needs_java=0; fi
# The WireMock suite runs a real WireMock whenever standin is a target.
case ",${COMPAT_TARGETS:-mockserver,standin}," in *,standin,*) needs_java=1 ;; esac
if [ "$needs_java" = 1 ] && ! command -v "${JAVA:-java}" >/dev/null 2>&1; then
  echo "compat: java not found; installing openjdk-17-jre-headless" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless
  else
    sudo apt-get update && sudo apt-get install -y --no-install-recommends openjdk-17-jre-headless
  fi
fi

# --- run ----------------------------------------------------------------------------------------
export COMPAT_TARGETS="${COMPAT_TARGETS:-mockserver,standin}"
export COMPAT_CLIENT_TARGET="${COMPAT_CLIENT_TARGET:-standin}"
export STANDIN_BIN="${STANDIN_BIN:-$repo/target/debug/standin}"

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  files=(compat/differential.test.mjs compat/client.test.mjs)
  # WireMock needs java and standin whatever the MockServer targets are.
  case ",$COMPAT_TARGETS," in *,standin,*) files+=(compat/wiremock.test.mjs) ;; esac
  # standin's exports read by a real MockServer and Postman's SDK.
  case ",$COMPAT_TARGETS," in *,standin,*mockserver*|*mockserver*,standin,*) files+=(compat/exports.test.mjs) ;; esac
  # Real-world expectation files (compat/corpus/mockserver/) loaded into both servers.
  files+=(compat/corpus.test.mjs)
fi

case ",$COMPAT_TARGETS,$COMPAT_CLIENT_TARGET," in
  *,standin,*)
    if [ -z "${STANDIN_URL:-}" ] && [ ! -x "$STANDIN_BIN" ]; then
      echo "compat: standin binary not found at $STANDIN_BIN (build it with 'cargo build -p standin' or set STANDIN_BIN)" >&2
      exit 2
    fi
    ;;
esac

cd "$repo"
echo "compat: COMPAT_TARGETS=$COMPAT_TARGETS COMPAT_CLIENT_TARGET=$COMPAT_CLIENT_TARGET STANDIN_BIN=$STANDIN_BIN" >&2
# One file at a time (each starts its own servers); every test has its own timeout, and the whole
# run is bounded. timeout(1) signals the whole process group; the suites' exit hooks and the
# process guards in compat/lib/servers.mjs make sure no JVM or standin outlives the run.
set +e
timeout --kill-after=30 "${COMPAT_TOTAL_TIMEOUT:-1800}" \
  node --test --test-concurrency=1 --test-reporter="${COMPAT_REPORTER:-spec}" "${files[@]}"
rc=$?
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "compat: the run exceeded COMPAT_TOTAL_TIMEOUT=${COMPAT_TOTAL_TIMEOUT:-1800}s and was stopped" >&2
fi
# The Handlebars cases the Rust tests compare against (crates/template/tests/cases/handlebars)
# must still be what a real WireMock answers: a full run only (about 10 s).
if [ "$rc" = 0 ] && [ $# -eq 0 ]; then
  echo "compat: checking the recorded WireMock template cases against WireMock" >&2
  timeout --kill-after=30 900 node "$here/wiremock-templates/oracle.mjs" || rc=$?
fi
exit "$rc"
