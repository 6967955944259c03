#!/usr/bin/env bash
# The project's one test command: format, vet, staticcheck, race tests.
# Integration tests start real servers (redis-server, PostgreSQL, Dovecot,
# Chromium) when installed; with CI=true a missing one is a failure.
set -euo pipefail
cd "$(dirname "$0")"

echo "==> gofmt"
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "==> go vet"
go vet ./...

echo "==> staticcheck"
go tool staticcheck ./...

echo "==> go test -race"
go test -race -count=1 -timeout 20m ./...
