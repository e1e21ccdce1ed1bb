#!/usr/bin/env bash
# Re-fetch the GraphiQL assets served at /graphiql/static/ from the npm registry.
#
# Each package is fetched with `npm pack` (which checks the tarball against the registry's
# integrity hash), unpacked in a temporary directory, and only its production/UMD build and its
# license are copied into app/http/static/graphiql/<package>-<version>/. The files are copied
# byte for byte; VERSIONS.md is rewritten with the versions, licenses and sha256 sums.
#
# To upgrade: change a version below, run `bash tools/vendor_graphiql.sh`, update the versions in
# app/http/graphiql.py (ASSETS), run tests/browser, commit. Needs node/npm and the npm registry.
set -euo pipefail
shopt -s inherit_errexit  # errors inside $(fetch ...) stop the script too
cd "$(dirname "$0")/.."

REACT=18.3.1            # React 19 dropped the UMD builds
GRAPHIQL=3.9.0          # the last 3.x (the line Strawberry's own page uses), with a UMD build
EXPLORER=3.2.6          # @graphiql/plugin-explorer for @graphiql/react 0.29 (graphiql 3.9)
GRAPHIQL_EXPLORER=0.9.0 # graphiql-explorer, bundled into the plugin's UMD build (license only)
GRAPHQL_WS=6.0.6

DEST=app/http/static/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION: unpacks NAME@VERSION into $work/<name>-<version>/package, records its integrity.
fetch() {
  local name=$1 version=$2 dir
  dir="$work/$(echo "$name" | tr -d @ | tr / -)-$version"
  mkdir -p "$dir"
  npm pack --silent --json --pack-destination "$dir" "$name@$version" >"$dir/pack.json"
  tar xzf "$dir"/*.tgz -C "$dir"
  node -e '
    const [info] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const pkg = require(process.argv[2]);
    if (pkg.name !== process.argv[3] || pkg.version !== process.argv[4]) throw new Error("unexpected package " + pkg.name + "@" + pkg.version);
    console.log(`${info.name}@${info.version}\t${pkg.license}\t${info.integrity}`);
  ' "$dir/pack.json" "$dir/package/package.json" "$name" "$version" >>"$work/packages.tsv"
  echo "$dir/package"
}

# put SRC TARGET_DIR [NAME]: copies SRC into $DEST/TARGET_DIR (as NAME when given).
put() {
  mkdir -p "$DEST/$2"
  cp "$1" "$DEST/$2/${3:-$(basename "$1")}"
}

rm -rf "$DEST"
mkdir -p "$DEST"

src=$(fetch react "$REACT")
put "$src/umd/react.production.min.js" "react-$REACT"
put "$src/LICENSE" "react-$REACT"

src=$(fetch react-dom "$REACT")
put "$src/umd/react-dom.production.min.js" "react-dom-$REACT"
put "$src/LICENSE" "react-dom-$REACT"

graphiql=$(fetch graphiql "$GRAPHIQL")
put "$graphiql/graphiql.min.js" "graphiql-$GRAPHIQL"
put "$graphiql/graphiql.min.css" "graphiql-$GRAPHIQL"
put "$graphiql/LICENSE" "graphiql-$GRAPHIQL"

src=$(fetch @graphiql/plugin-explorer "$EXPLORER")
put "$src/dist/index.umd.js" "graphiql-plugin-explorer-$EXPLORER"
put "$src/dist/style.css" "graphiql-plugin-explorer-$EXPLORER"
# The package declares MIT but ships no LICENSE file; it lives in the same repository as graphiql
# (github.com/graphql/graphiql), whose LICENSE is that MIT license.
put "$graphiql/LICENSE" "graphiql-plugin-explorer-$EXPLORER"
src=$(fetch graphiql-explorer "$GRAPHIQL_EXPLORER")
put "$src/LICENSE" "graphiql-plugin-explorer-$EXPLORER" "LICENSE.graphiql-explorer"

src=$(fetch graphql-ws "$GRAPHQL_WS")
put "$src/umd/graphql-ws.min.js" "graphql-ws-$GRAPHQL_WS"
put "$src/LICENSE.md" "graphql-ws-$GRAPHQL_WS"

{
  echo "# Vendored GraphiQL assets"
  echo
  echo "Served by the API at \`/graphiql/static/\` (app/http/graphiql.py) so GraphiQL works without"
  echo "internet access. Written by \`tools/vendor_graphiql.sh\`, which fetches the packages from the"
  echo "npm registry with \`npm pack\`; the files are the packages' own, unmodified. Directory names"
  echo "carry the versions, so the assets are served with a one-year immutable cache lifetime."
  echo
  echo "| package | license | npm integrity |"
  echo "| --- | --- | --- |"
  sort "$work/packages.tsv" | while IFS=$'\t' read -r pkg license integrity; do
    echo "| $pkg | $license | \`$integrity\` |"
  done
  echo
  echo "Notes:"
  echo
  echo "- @graphiql/plugin-explorer ships no LICENSE file; its LICENSE here is graphiql's (same"
  echo "  repository, github.com/graphql/graphiql, MIT). Its UMD build bundles graphiql-explorer"
  echo "  (MIT, LICENSE.graphiql-explorer); graphiql-explorer is vendored for that license only."
  echo "- graphiql.min.js bundles @graphiql/react, @graphiql/toolkit, graphql, CodeMirror 5 and other"
  echo "  MIT-licensed dependencies, as published on npm."
  echo "- graphiql.min.js ends with a sourceMappingURL comment; the map (4 MB) is not vendored, so"
  echo "  only browser developer tools would ask for it (404)."
  echo
  echo "## Files (sha256)"
  echo
  echo '```'
  (cd "$DEST" && find . -type f ! -name VERSIONS.md | sort | sed 's|^\./||' | xargs sha256sum)
  echo '```'
} >"$DEST/VERSIONS.md"

du -sh "$DEST"
