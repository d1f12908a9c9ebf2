#!/bin/sh
# Newer nightlies refuse the `rustc_layout_scalar_valid_range_*` attributes that rustix 0.37 (via
# async-io 1.x) turns on when its build script finds `feature(rustc_attrs)` available. They are
# an optimisation only: drop `--cfg rustc_attrs` and rustix builds without them.
rustc="$1"
shift
for arg; do
    shift
    if [ "$skip" = 1 ]; then skip=0; [ "$arg" = rustc_attrs ] && continue; set -- "$@" --cfg "$arg"; continue; fi
    if [ "$arg" = --cfg ]; then skip=1; continue; fi
    set -- "$@" "$arg"
done
exec "$rustc" "$@"
