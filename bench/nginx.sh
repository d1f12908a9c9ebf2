# Sourced by the bench scripts: the nginx they compare against (one worker, sendfile on, serving
# $WORK/files on ${NGINX_LISTEN:-127.0.0.1}:$NGINX_PORT). Sets NGINX_PID and adds it to PIDS. Installs nginx with
# apt-get if it is missing.
start_nginx() {
    if ! command -v nginx >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
    fi
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    server { listen ${NGINX_LISTEN:-127.0.0.1}:$NGINX_PORT; root $WORK/files; }
}
CONF
    "$(command -v nginx || echo /usr/sbin/nginx)" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}
