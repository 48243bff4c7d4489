#!/usr/bin/env bash
# Refreshes static/ from the npm registry: the built GraphiQL, React and ReactDOM files the page loads, with their
# licences. Change a version below, run this from anywhere (it needs npm), open /graphql, run
# tests/server/test_graphiql_offline.py, and commit static/ with the new versions in README.md.
set -euo pipefail
GRAPHIQL=3.9.0  # the newest 3.x, the series strawberry's page uses; 4.x is the last with a UMD bundle
REACT=18.2.0    # React 19 ships no UMD bundles; GraphiQL 3 asks for React 16.8 to 18

static="$(cd "$(dirname "$0")" && pwd)/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
timeout 300 npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
mkdir graphiql react react-dom
tar xzf "graphiql-$GRAPHIQL.tgz" -C graphiql
tar xzf "react-$REACT.tgz" -C react
tar xzf "react-dom-$REACT.tgz" -C react-dom
rm -rf "$static" && mkdir -p "$static"
cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$static/"
cp react/package/umd/react.production.min.js react-dom/package/umd/react-dom.production.min.js "$static/"
for package in graphiql react react-dom; do
    cp "$package/package/LICENSE" "$static/LICENSE.$package"
done
ls -l "$static"
