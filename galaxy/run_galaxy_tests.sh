#!/usr/bin/env bash
# Run every wrapper's <tests> in a real Galaxy server (issue 5).
#
#   bash galaxy/run_galaxy_tests.sh [TOOL_ID...]
#
# Galaxy (pip package `galaxy`) lives in $GALAXY_VENV (default .venv-galaxy); the suite's
# executables come from $DT_BIN through the job environment's PATH, in the way a conda/container
# requirement would provide them: `make galaxy-test` sets it to the package installed from its
# wheel (.venv-wheel/bin, make wheel-venv); run by hand, the default is the working tree's
# .venv/bin. The server's uvicorn app is started
# directly (galaxy-web): Galaxy's launcher refuses to run as root. It listens on 127.0.0.1
# only, keeps everything under galaxy/.work/, and is stopped when this script exits.
# Results: galaxy/.work/results*.json (+ outputs under galaxy/.work/outputs/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GALAXY_VENV=${GALAXY_VENV:-$root/.venv-galaxy}
DT_BIN=${DT_BIN:-$root/.venv/bin}
work=${GALAXY_WORK:-$here/.work}
port=${GALAXY_PORT:-$("$GALAXY_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
key=${GALAXY_TEST_KEY:-deeptarget-local-test-key}   # the server listens on 127.0.0.1 only
url=http://127.0.0.1:$port

[[ -x $GALAXY_VENV/bin/galaxy-web ]] || { echo "error: no Galaxy in $GALAXY_VENV (make galaxy-venv)" >&2; exit 1; }
[[ -x $DT_BIN/dt-scan-cts ]] || { echo "error: no dt-scan-cts in $DT_BIN (make install)" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"/{data,tool-data,outputs}
{
    echo '<?xml version="1.0"?>'
    echo '<toolbox monitor="false">'
    echo '  <section id="deeptarget" name="deepTarget">'
    for xml in "$here"/dt_*.xml; do echo "    <tool file=\"$xml\"/>"; done
    echo '  </section>'
    echo '</toolbox>'
} > "$work/tool_conf.xml"
cat > "$work/galaxy.yml" <<YML
galaxy:
  data_dir: $work/data
  database_connection: sqlite:///$work/data/universe.sqlite?isolation_level=IMMEDIATE
  tool_config_file: $work/tool_conf.xml
  tool_data_path: $work/tool-data
  shed_tool_config_file: $work/shed_tool_conf.xml
  conda_auto_init: false
  conda_auto_install: false
  enable_mulled_containers: false
  involucro_auto_init: false
  tool_dependency_dir: $work/deps
  bootstrap_admin_api_key: $key
  admin_users: admin@example.org
  require_login: false
  allow_local_account_creation: true
  enable_celery_tasks: false
  watch_tools: 'false'
  cleanup_job: onsuccess
  database_auto_migrate: true
  enable_beta_markdown_export: false
  job_config:
    runners:
      local:
        load: galaxy.jobs.runners.local:LocalJobRunner
        workers: 2
    execution:
      default: local
      environments:
        local:
          runner: local
YML
echo '<?xml version="1.0"?><toolbox tool_path="'"$work"'/shed_tools"></toolbox>' > "$work/shed_tool_conf.xml"

# the jobs find Galaxy's python first (metadata), then the suite's dt-* executables
export PATH="$GALAXY_VENV/bin:$DT_BIN:$PATH"
start=$(date +%s)
nice -n 5 "$GALAXY_VENV/bin/galaxy-web" --config "$work/galaxy.yml" --bind "127.0.0.1:$port" > "$work/galaxy.log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 1 600); do
    if curl -fsS "$url/api/version" > /dev/null 2>&1; then break; fi
    kill -0 "$server" 2>/dev/null || { tail -n 40 "$work/galaxy.log" >&2; echo "error: Galaxy died" >&2; exit 1; }
    sleep 1
done
curl -fsS "$url/api/version" >&2 || { tail -n 40 "$work/galaxy.log" >&2; exit 1; }
echo "galaxy up on $url after $(( $(date +%s) - start )) s" >&2

# a test user and its API key, made with the bootstrap admin key
user_key=$("$GALAXY_VENV/bin/python" - "$url" "$key" <<'PY'
import json, sys, urllib.request
url, key = sys.argv[1], sys.argv[2]
def call(method, path, data=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(data).encode() if data else None,
                                 headers={"x-api-key": key, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
user = call("POST", "/api/users", {"username": "admin", "email": "admin@example.org", "password": "not-used-0"})
print(call("POST", f"/api/users/{user['id']}/api_key"))
PY
)
t0=$(date +%s); rc=0
common=(-u "$url" -k "$user_key" -a "$key" --test-data "$here/test-data" -o "$work/outputs")
if (( $# )); then
    for id in "$@"; do
        "$GALAXY_VENV/bin/galaxy-tool-test" "${common[@]}" -j "$work/results_$id.json" -t "$id" --parallel-tests "${GALAXY_TEST_PARALLEL:-2}" || rc=1
    done
else
    # every tool in the panel (only this suite's wrappers) in one run
    "$GALAXY_VENV/bin/galaxy-tool-test" "${common[@]}" -j "$work/results.json" --parallel-tests "${GALAXY_TEST_PARALLEL:-3}" || rc=1
fi
echo "galaxy tool tests: $(( $(date +%s) - t0 )) s (with server start: $(( $(date +%s) - start )) s), rc=$rc" >&2
# optional: screenshots of a tool form and a finished history for the docs (headless Chromium)
if [[ -n ${GALAXY_SCREENSHOTS:-} ]] && command -v chromium > /dev/null; then
    mkdir -p "$GALAXY_SCREENSHOTS"
    hist=$("$GALAXY_VENV/bin/python" "$here/demo_history.py" "$url" "$user_key" "$here/test-data")
    shot() {
        chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
            --virtual-time-budget=30000 --screenshot="$GALAXY_SCREENSHOTS/$1" "$2" > /dev/null 2>&1 || true
    }
    shot galaxy-tool-form.png "$url/?tool_id=deeptarget_predict&version=latest"
    shot galaxy-history.png "$url/published/history?id=$hist"
    echo "screenshots in $GALAXY_SCREENSHOTS" >&2
fi
exit $rc
