#!/usr/bin/env bash
# The project's one test command: gofmt, go vet, staticcheck, race tests.
#
# Integration tests start real servers on loopback (redis-server, PostgreSQL,
# Dovecot) and use Chromium, through internal/testenv. Where one is not
# installed its tests are skipped; with CI=true a missing one is a failure.
# .ci/run installs them all on a fresh Debian 12 machine and runs this.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

# All Go files we would commit: tracked and untracked, minus .gitignore'd
# ones. Without git (e.g. a source tarball) every .go file under here.
go_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard -- '*.go'
  else
    find . -name '*.go' -not -path './.git/*' -print0
  fi
}

step "gofmt -l"
# xargs -r: with no files gofmt would read stdin and hang. Deleted-but-still-
# tracked files are skipped so a work in progress does not break the check.
unformatted=$(go_files | xargs -0 -r sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh |
  xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
  echo "These files are not gofmt-formatted (run: gofmt -w FILE):"
  echo "$unformatted"
  exit 1
fi
echo "ok"

step "go vet ./..."
go vet ./...

step "staticcheck ./... (go tool, pinned in go.mod)"
go tool staticcheck ./...

step "go test -race -count=1 ./... (CI=${CI:-})"
go test -race -count=1 -timeout 20m ./...

step "fuzz the inbound classifier (bounded)"
go test -run '^$' -fuzz '^FuzzClassify$' -fuzztime 30s -fuzzminimizetime 5s ./mailer/

step "all checks passed"
