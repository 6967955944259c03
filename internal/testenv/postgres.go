package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// sharedServers holds the servers that live as long as the test binary.
// It is package state by necessity: Postgres is called from many tests and
// Main has to find the server to stop it.
type sharedServers struct {
	mu          sync.Mutex
	mainEnabled bool
	pgStarted   bool
	pg          *pgServer
	pgErr       error
	dbSeq       int
}

var shared sharedServers

func (s *sharedServers) enable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mainEnabled = true
}

// stop shuts down the shared servers; Main calls it after m.Run.
func (s *sharedServers) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pg != nil {
		s.pg.stop()
		s.pg = nil
	}
}

// pgServer is a PostgreSQL cluster in a temporary directory.
type pgServer struct {
	dir  string // removed on stop; owned by the postgres OS user when root
	port string
	proc *proc
}

// dsn returns the URL of database db, connecting as the superuser.
func (s *pgServer) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", s.port, db)
}

func (s *pgServer) stop() {
	// SIGINT is PostgreSQL's "fast" shutdown: roll back open sessions and
	// exit, rather than waiting for test pools that were never closed.
	s.proc.stop(syscall.SIGINT, 30*time.Second)
	_ = os.RemoveAll(s.dir)
}

// Postgres returns the DSN (postgres://...?sslmode=disable) of a fresh,
// empty database on a PostgreSQL server started once per test binary
// (initdb in a temporary directory, trust authentication, a free loopback
// port). Each call creates a new database so tests are isolated. The
// package's TestMain must call Main, which stops the server.
// If the PostgreSQL binaries are not installed the test fails in CI and is
// skipped otherwise.
func Postgres(t testing.TB) string {
	t.Helper()
	binDir, err := findPostgres()
	if err != nil {
		missing(t, "PostgreSQL (initdb, postgres)", err.Error())
	}

	shared.mu.Lock()
	if !shared.mainEnabled {
		shared.mu.Unlock()
		t.Fatal("testenv: Postgres needs the package's TestMain to call testenv.Main(m), which stops the server")
	}
	if !shared.pgStarted {
		shared.pgStarted = true
		shared.pg, shared.pgErr = startPostgres(binDir)
	}
	srv, startErr := shared.pg, shared.pgErr
	shared.dbSeq++
	seq := shared.dbSeq
	shared.mu.Unlock()

	if startErr != nil {
		t.Fatalf("testenv: %v", startErr)
	}
	name := dbName(seq, t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := createDatabase(ctx, srv.dsn("postgres"), name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return srv.dsn(name)
}

// dbName makes a valid, unique, recognisable database name from the test
// name, so a failing test's data is easy to find in the server log.
func dbName(seq int, testName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d_", seq)
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 63 { // NAMEDATALEN-1
		s = s[:63]
	}
	return s
}

func createDatabase(ctx context.Context, adminDSN, name string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("postgres: connect to create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	// template0 so a test that altered template1 cannot leak into others.
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE template0 ENCODING 'UTF8'"
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}

// findPostgres returns the directory holding initdb and postgres: PATH
// first, then Debian's /usr/lib/postgresql/<version>/bin, highest version.
func findPostgres() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		if isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("no initdb/postgres in PATH or /usr/lib/postgresql/*/bin; install the postgresql package")
}

// pgVersion extracts the major version from /usr/lib/postgresql/15/bin.
func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// postgresCredential returns the credential to run PostgreSQL with: the
// "postgres" OS user when we are root (initdb and postgres refuse uid 0),
// nil otherwise.
func postgresCredential() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres: running as root needs a 'postgres' OS user to run the server as: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("postgres: gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

func startPostgres(binDir string) (srv *pgServer, err error) {
	cred, uid, gid, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vanthu-testenv-pg-")
	if err != nil {
		return nil, fmt.Errorf("postgres: temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("postgres: chown %s: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")

	// C.UTF-8 rather than C so lower()/upper() and ILIKE handle Vietnamese
	// letters; sorting in Vietnamese order is vntext's job, not the server's.
	initdb := exec.Command(filepath.Join(binDir, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postgres: initdb: %w\n%s", err, out)
	}

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(filepath.Join(binDir, "postgres"),
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-p", port,
			"-k", dir, // unix socket next to the data, not /var/run/postgresql
			// Durability is pointless for throw-away test data and costs
			// seconds per test on slow disks.
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=300",
			// Several test binaries run at once, each with its own server.
			"-c", "shared_buffers=32MB",
		)
		cmd.Dir = dir
		logPath := filepath.Join(dir, fmt.Sprintf("postgres-%d.log", attempt))
		p, err := startProc("postgres", cmd, logPath, cred)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		s := &pgServer{dir: dir, port: port, proc: p}
		err = p.waitReady(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, s.dsn("postgres"))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			var one int
			return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
		})
		if err != nil {
			p.stop(syscall.SIGQUIT, 5*time.Second)
			lastErr = fmt.Errorf("%w\npostgres log:\n%s", err, p.logTail())
			continue
		}
		return s, nil
	}
	return nil, fmt.Errorf("postgres did not start: %w", lastErr)
}
