#!/usr/bin/env bash
# Refreshes the Swagger UI files the gateway serves at /docs (service/docs_assets/), so that the
# page works offline: from npm's swagger-ui-dist at the pinned version, with its licence.
set -euo pipefail
version=5.35.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar -xzf ./*.tgz)
dest=$(dirname "$0")/../service/docs_assets
for file in swagger-ui-bundle.js swagger-ui.css swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE favicon-32x32.png; do
  cp "$work/package/$file" "$dest/$file"
done
echo "$version" > "$dest/VERSION"
echo "Swagger UI $version in $dest"
