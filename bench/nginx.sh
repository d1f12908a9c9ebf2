# Sourced by the bench scripts: the nginx they compare against (one worker). `start_nginx` serves
# $WORK/files with sendfile on ${NGINX_LISTEN:-127.0.0.1}:$NGINX_PORT, `tcp_nopush` ${NGINX_NOPUSH:-on}
# (Debian's nginx.conf sets both); `run_nginx name body` runs
# one more instance with its own directory under $WORK and `body` inside `http { }`. Each sets
# NGINX_PID and adds it to PIDS. Installs nginx with apt-get if it is missing.
run_nginx() { # name http-body
    if ! command -v nginx >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
    fi
    local dir=$WORK/$1
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log off;
$2
}
CONF
    "$(command -v nginx || echo /usr/sbin/nginx)" -c "$dir/nginx.conf" -p "$dir" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}

start_nginx() {
    run_nginx nginx "    sendfile on;
    tcp_nopush ${NGINX_NOPUSH:-on};
    server { listen ${NGINX_LISTEN:-127.0.0.1}:$NGINX_PORT; root $WORK/files; }"
}
