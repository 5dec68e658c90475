#!/usr/bin/env bash
# Shared shell helpers for tools/*.sh (sourced).

# pyenv_python X.Y -> path of the newest pyenv interpreter X.Y.*, or nothing
pyenv_python() {
  local root=${PYENV_ROOT:-/root/.pyenv} found="" p
  for p in "$root"/versions/"$1".*/bin/python; do
    [ -x "$p" ] && found=$p
  done
  printf '%s' "$found"
}
