#!/usr/bin/env bash
# CI on the older supported CKAN versions: install each version's pinned
# stack into its own virtualenv, run the extension suite on CKAN 2.11 and
# 2.10 (CKAN's own search tests only on 2.12, to keep CI within its hour;
# `make conformance CKAN=2.10` runs them by hand), then the upgrade test
# 2.10 -> 2.11 -> 2.12. .ci/run runs the installs and suites beside the 2.12
# steps (CI_INSTALL=0: installed already; CI_UPGRADE=0: the upgrade test
# runs elsewhere). Every step runs even when an earlier one failed; the wall
# time of each is printed at the end, and the status is 1 when any failed.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
summary=()
failed=0

step() {  # step NAME COMMAND...
  local name=$1 start=$SECONDS rc=0; shift
  say "CI: $name"
  "$@" || rc=$?
  local line
  line=$(printf '%-44s %6d s  %s' "$name" $((SECONDS - start)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")
  summary+=("$line")
  [ $rc = 0 ] || failed=1
}

total=$SECONDS
# CI_CKAN_VERSIONS picks the versions (default both; "2.11" for a quicker run)
versions=${CI_CKAN_VERSIONS:-2.11 2.10}
if [ "${CI_INSTALL:-1}" = 1 ]; then
  for v in $versions; do step "install CKAN $v stack" env CKAN=$v scripts/install.sh; done
fi
for v in $versions; do
  step "extension suite on CKAN $v" env CKAN=$v CONFORMANCE=0 scripts/run-tests.sh
done
[ "${CI_UPGRADE:-1}" = 0 ] || step "upgrade test 2.10 -> 2.11 -> 2.12" scripts/test-upgrade.sh

say "CI on CKAN $versions: wall times"
printf '    %s\n' "${summary[@]}"
printf '    %-44s %6d s\n' "total" $((SECONDS - total))
exit $failed
