#!/usr/bin/env bash
# One command for one host: the gateway cluster of docker-compose.yaml (Redis, the worker, N gateway
# replicas, nginx on 127.0.0.1, Prometheus, Grafana) behind Caddy with HTTPS on 443, certificates
# obtained and renewed by Caddy (ACME), HTTP on 80 redirecting. Run it again to upgrade in place:
# gateway replicas are replaced one at a time, each old one draining its open streams first.
#
#   GATEWAY_DOMAIN=gw.example.com ACME_EMAIL=ops@example.com deploy/deploy.sh
#
# docs/operations.md ("Single host with HTTPS") explains what it needs, starts and changes.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/deploy.sh [--replicas N] [--http] [--no-build] [--check]

Brings up (or upgrades in place) the gateway cluster on this Docker host behind Caddy:
HTTPS on 443 for GATEWAY_DOMAIN with automatic certificates, HTTP on 80 redirecting.

Options:
  --replicas N  gateway replicas (default: as many as run now, else 2)
  --http        plain HTTP on port 80 (PUBLIC_HTTP_PORT) for local use: no domain, no certificates
  --no-build    do not build the image from this checkout; use GATEWAY_IMAGE as it is
  --check       check the prerequisites, change nothing
  -h, --help    this text

Settings, from the environment or the env file (ENV_FILE, default .env at the repository root,
which compose reads too):
  GATEWAY_DOMAIN            public DNS name pointing at this host (not needed with --http)
  ACME_EMAIL                e-mail for the certificate authority's account (not needed with --http)
  REASONING_ENCRYPTION_KEY  32+ characters shared by every replica: openssl rand -base64 48
  GRAFANA_ADMIN_PASSWORD    Grafana's admin password (not needed with --http)
  optional: UPSTREAM_BASE_URL, UPSTREAM_API_KEY, GATEWAY_IMAGE, SHUTDOWN_GRACE_SECONDS, LOG_LEVEL,
  MONITORING_BIND and GATEWAY_HTTP_BIND (127.0.0.1), PUBLIC_HTTP_PORT (80), PUBLIC_HTTPS_PORT (443)
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ENV_FILE=${ENV_FILE:-.env}

replicas=""
mode=https
build=true
check_only=false
while [ "$#" -gt 0 ]; do
  case "$1" in
    --replicas)
      replicas=${2:-}
      shift 2 || { echo "deploy.sh: --replicas needs a number" >&2; exit 2; }
      ;;
    --replicas=*) replicas=${1#*=}; shift ;;
    --http) mode=http; shift ;;
    --no-build) build=false; shift ;;
    --check) check_only=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'deploy.sh: %s\n' "$*"; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

# A setting from the environment, else from the env file (as compose resolves them), else $2.
setting() {
  local name=$1 fallback=${2:-} line value
  if [ -n "${!name+x}" ]; then
    printf '%s' "${!name}"
    return
  fi
  if [ -f "$ENV_FILE" ]; then
    line=$(grep -E "^[[:space:]]*(export[[:space:]]+)?${name}=" "$ENV_FILE" | tail -n 1 || true)
    if [ -n "$line" ]; then
      value=${line#*=}
      value=${value%$'\r'}
      case "$value" in
        \"*\") value=${value#\"}; value=${value%\"} ;;
        \'*\') value=${value#\'}; value=${value%\'} ;;
      esac
      printf '%s' "$value"
      return
    fi
  fi
  printf '%s' "$fallback"
}

# ---- prerequisites: every problem is collected, then all are reported at once ----------------
problems=()
warnings=()
problem() { problems+=("$1"); }

COMPOSE=()
if ! command -v docker >/dev/null 2>&1; then
  problem "docker: not found on PATH. Install Docker Engine (https://docs.docker.com/engine/install/, or apt-get install docker.io)."
elif ! docker info >/dev/null 2>&1; then
  problem "docker: the Docker daemon does not answer${DOCKER_HOST:+ at $DOCKER_HOST}. Start it (systemctl start docker), or run as root or a member of the docker group."
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  v1=$(docker-compose version --short 2>/dev/null || echo 0)
  major=${v1%%.*}
  minor=${v1#*.}
  minor=${minor%%.*}
  if [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] && { [ "$major" -gt 1 ] || [ "$minor" -ge 28 ]; }; then
    COMPOSE=(docker-compose)
  else
    problem "docker-compose $v1 is too old: profiles need 1.28 or later. Install the compose plugin (apt-get install docker-compose-plugin)."
  fi
else
  problem "Docker Compose: not found (neither 'docker compose' nor 'docker-compose'). Install the compose plugin (apt-get install docker-compose-plugin)."
fi

GATEWAY_DOMAIN=$(setting GATEWAY_DOMAIN)
ACME_EMAIL=$(setting ACME_EMAIL)
REASONING_ENCRYPTION_KEY=$(setting REASONING_ENCRYPTION_KEY)
GRAFANA_ADMIN_PASSWORD=$(setting GRAFANA_ADMIN_PASSWORD)
if [ "$mode" = https ]; then
  if [ -z "$GATEWAY_DOMAIN" ]; then
    problem "GATEWAY_DOMAIN is not set: the public DNS name clients will use, e.g. GATEWAY_DOMAIN=gw.example.com (its DNS record must point at this host)."
  elif ! [[ "$GATEWAY_DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$ ]]; then
    problem "GATEWAY_DOMAIN='$GATEWAY_DOMAIN' is not a DNS name: give the bare name, without https://, port or path (e.g. gw.example.com)."
  elif [[ "$GATEWAY_DOMAIN" =~ ^[0-9.]+$ ]]; then
    problem "GATEWAY_DOMAIN='$GATEWAY_DOMAIN' is an IP address: certificate authorities issue for DNS names; point a name at this host."
  elif [[ "$GATEWAY_DOMAIN" != *.* ]]; then
    warnings+=("GATEWAY_DOMAIN='$GATEWAY_DOMAIN' is not a public name: Caddy takes its certificate from its own local CA, which clients must trust explicitly.")
  elif command -v getent >/dev/null 2>&1 && ! getent hosts "$GATEWAY_DOMAIN" >/dev/null 2>&1; then
    warnings+=("GATEWAY_DOMAIN='$GATEWAY_DOMAIN' does not resolve from here: Caddy gets no certificate until its DNS record points at this host.")
  fi
  if [ -z "$ACME_EMAIL" ]; then
    problem "ACME_EMAIL is not set: the e-mail address of the certificate authority's account (Let's Encrypt sends expiry warnings there), e.g. ACME_EMAIL=ops@example.com."
  elif ! [[ "$ACME_EMAIL" =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]]; then
    problem "ACME_EMAIL='$ACME_EMAIL' is not an e-mail address."
  fi
  if [ -z "$GRAFANA_ADMIN_PASSWORD" ] || [ "$GRAFANA_ADMIN_PASSWORD" = admin ]; then
    problem "GRAFANA_ADMIN_PASSWORD is not set, or is admin (Grafana's default): e.g. echo \"GRAFANA_ADMIN_PASSWORD=\$(openssl rand -base64 18)\" >> $ENV_FILE"
  fi
fi
if [ -z "$REASONING_ENCRYPTION_KEY" ]; then
  problem "REASONING_ENCRYPTION_KEY is not set: every replica must share it (32+ characters). Create it once and keep it: echo \"REASONING_ENCRYPTION_KEY=\$(openssl rand -base64 48)\" >> $ENV_FILE"
elif [ "${#REASONING_ENCRYPTION_KEY}" -lt 32 ]; then
  problem "REASONING_ENCRYPTION_KEY has ${#REASONING_ENCRYPTION_KEY} characters; it needs 32 or more (openssl rand -base64 48)."
fi
if [ -n "$replicas" ] && ! [[ "$replicas" =~ ^[1-9][0-9]*$ ]]; then
  problem "--replicas '$replicas' is not a positive number."
fi

# What compose interpolates comes from here on, and overrides the env file: the checked values.
export GATEWAY_DOMAIN ACME_EMAIL REASONING_ENCRYPTION_KEY GRAFANA_ADMIN_PASSWORD
if [ "$mode" = http ]; then
  export GATEWAY_SCHEME=http
else
  export GATEWAY_SCHEME=https
fi
# Behind Caddy, nothing else is for the internet: nginx's plain HTTP, Prometheus (no auth) and
# Grafana listen on 127.0.0.1 only (reach them with ssh -L), unless set otherwise.
GATEWAY_HTTP_BIND=$(setting GATEWAY_HTTP_BIND 127.0.0.1)
MONITORING_BIND=$(setting MONITORING_BIND 127.0.0.1)
export GATEWAY_HTTP_BIND MONITORING_BIND

env_args=()
[ -f "$ENV_FILE" ] && env_args=(--env-file "$ENV_FILE")
compose() { "${COMPOSE[@]}" "${env_args[@]}" -f "$ROOT/docker-compose.yaml" --profile https "$@"; }

if [ "${#COMPOSE[@]}" -gt 0 ] && [ "${#problems[@]}" -eq 0 ]; then
  if ! output=$(compose config --quiet 2>&1); then
    problem "docker-compose.yaml does not validate: $output"
  fi
fi

for warning in "${warnings[@]}"; do say "warning: $warning"; done
if [ "${#problems[@]}" -gt 0 ]; then
  {
    echo "deploy.sh: cannot deploy, ${#problems[@]} thing(s) to fix first:"
    for item in "${problems[@]}"; do echo "  - $item"; done
    echo "Settings are read from the environment or from $ENV_FILE (see deploy/deploy.sh --help)."
  } >&2
  exit 1
fi
if [ "$check_only" = true ]; then
  say "all prerequisites are met (${COMPOSE[*]}, mode $mode)."
  exit 0
fi

if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/responses-gateway-deploy.lock"
  flock -n 9 || die "another deploy.sh is running on this host."
fi

# ---- helpers --------------------------------------------------------------------------------
project=""
service_ids() { # running containers of a service, oldest first
  docker ps -q --no-trunc --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1" |
    xargs -r docker inspect -f '{{.Created}} {{.Id}}' | sort | cut -d' ' -f2
}
# `healthy` once the container's health check passes; fails when it stops or after $2 seconds.
wait_healthy() {
  local id=$1 deadline=$((SECONDS + ${2:-180})) state
  while :; do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id" 2>/dev/null || echo "gone gone")
    case "$state" in
      "running healthy" | "running none") return 0 ;;
      running*) ;;
      *) return 1 ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 2
  done
}
fingerprint() { docker inspect -f '{{.Image}} {{index .Config.Labels "com.docker.compose.config-hash"}}' "$1"; }
# SIGTERM (through tini): the gateway stops accepting, lets its open streams finish for up to
# SHUTDOWN_GRACE_SECONDS, then exits; Docker kills it only after the timeout. Caddy sends new
# requests to the other replicas meanwhile.
stop_timeout=$(($(setting SHUTDOWN_GRACE_SECONDS 30) + 15))
retire() {
  say "draining and removing gateway replica ${1:0:12} (up to ${stop_timeout}s for its open streams)"
  docker stop --time "$stop_timeout" "$1" >/dev/null
  docker rm "$1" >/dev/null
}
# One more gateway replica from the current compose file and image; prints its id once it is ready.
add_replica() {
  local before after id
  before=$(service_ids gateway)
  compose up -d --no-deps --no-recreate --scale gateway="$(($(printf '%s\n' "$before" | grep -c .) + 1))" gateway >&2
  after=$(service_ids gateway)
  id=$(comm -13 <(printf '%s\n' "$before" | sort) <(printf '%s\n' "$after" | sort) | head -n 1)
  [ -n "$id" ] || die "compose started no new gateway replica."
  if ! wait_healthy "$id" 180; then
    docker logs --tail 40 "$id" >&2 || true
    docker rm -f "$id" >/dev/null 2>&1 || true
    die "the new gateway replica did not become ready (its log is above); the running replicas were left as they were."
  fi
  printf '%s' "$id"
}

# ---- deploy ---------------------------------------------------------------------------------
if [ "$build" = true ]; then
  say "building the gateway image from this checkout"
  compose build gateway
fi

say "starting Redis"
compose up -d --no-deps redis
project=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}' "$(compose ps -q redis | head -n 1)")
wait_healthy "$(service_ids redis | tail -n 1)" 120 || die "Redis did not become healthy: ${COMPOSE[*]} logs redis"

# Exited replicas would be restarted by `--scale` instead of new ones being created.
docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=gateway" --filter status=exited |
  xargs -r docker rm >/dev/null

mapfile -t old < <(service_ids gateway)
target=${replicas:-${#old[@]}}
[ "$target" -gt 0 ] || target=2
if [ "${#old[@]}" -eq 0 ]; then
  say "starting $target gateway replicas"
  compose up -d --no-deps --scale gateway="$target" gateway
  for id in $(service_ids gateway); do
    wait_healthy "$id" 180 || die "gateway replica ${id:0:12} did not become ready: ${COMPOSE[*]} logs gateway"
  done
else
  # Rolling upgrade. A replica started now carries what compose would create today (image and the
  # compose config hash); every running replica that differs is replaced, one at a time: the new one
  # is ready before the old one is told to drain, so capacity never drops below what runs now.
  say "checking ${#old[@]} running gateway replica(s) against the current image and configuration"
  spare=$(add_replica)
  want=$(fingerprint "$spare")
  for id in "${old[@]}"; do
    [ "$(fingerprint "$id")" != "$want" ] || continue
    if [ -z "$spare" ]; then spare=$(add_replica); fi
    say "replica ${spare:0:12} is ready; replacing ${id:0:12}"
    retire "$id"
    spare=""
  done
  mapfile -t now < <(service_ids gateway)
  # Nothing was out of date: the spare is one too many, and the cheapest to stop (no streams yet).
  if [ -n "$spare" ] && [ "${#now[@]}" -gt "$target" ]; then
    retire "$spare"
    mapfile -t now < <(service_ids gateway)
  fi
  while [ "${#now[@]}" -gt "$target" ]; do
    retire "${now[0]}"
    mapfile -t now < <(service_ids gateway)
  done
  while [ "${#now[@]}" -lt "$target" ]; do
    add_replica >/dev/null
    mapfile -t now < <(service_ids gateway)
  done
fi

# Recreated only where their definition or image changed (compose compares).
say "starting the worker, nginx, Prometheus, Grafana and Caddy"
compose up -d --no-deps worker nginx prometheus grafana caddy
# An edited Caddyfile is applied in place (open connections keep running); nothing happens if unchanged.
compose exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile >/dev/null 2>&1 ||
  say "warning: caddy reload failed: ${COMPOSE[*]} --profile https logs caddy"

if [ "$mode" = https ]; then
  url="https://$GATEWAY_DOMAIN"
else
  url="http://localhost:$(setting PUBLIC_HTTP_PORT 80)"
fi
# The first certificate is requested when Caddy starts: wait a little for it, but do not fail on it.
if command -v curl >/dev/null 2>&1; then
  ok=false
  for _ in $(seq 1 30); do
    if curl -fsS --max-time 5 "$url/caddy-health" >/dev/null 2>&1; then ok=true; break; fi
    sleep 2
  done
  [ "$ok" = true ] || say "warning: $url/caddy-health does not answer yet. For HTTPS, $GATEWAY_DOMAIN must resolve to this host and ports 80 and 443 be open; see ${COMPOSE[*]} --profile https logs caddy"
fi

cat <<EOF
deploy.sh: done: $(service_ids gateway | grep -c .) gateway replica(s) behind Caddy.
  OpenAI base URL : $url/v1   (clients send their own backend key as the API key)
  Grafana         : http://$MONITORING_BIND:$(setting GRAFANA_PORT 3000)  (from elsewhere: ssh -L 3000:127.0.0.1:3000 this-host)
  Prometheus      : http://$MONITORING_BIND:$(setting PROMETHEUS_PORT 9090)
  logs            : ${COMPOSE[*]} --profile https logs -f caddy gateway
  upgrade         : git pull && deploy/deploy.sh
EOF
