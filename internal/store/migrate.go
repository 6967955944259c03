package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrationLockKey is the PostgreSQL advisory lock taken while migrating, so
// that two processes starting at once apply each migration exactly once.
// Any constant works as long as nothing else uses it; this one spells
// "vanthu" in ASCII.
const migrationLockKey = 0x76616e746875

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migration files in version order. A file
// is named NNNN_description.sql; its number is its version.
func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate applies the migrations not yet recorded in schema_migrations, in
// order, each in its own transaction, and returns how many it applied;
// then it fills the catalogs if they are empty (EnsureCatalog). Running it
// again applies nothing. On PostgreSQL an advisory lock
// serialises concurrent callers; on SQLite the immediate transaction does.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	// One connection for the whole run: the PostgreSQL advisory lock
	// belongs to a session.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.dialect == DialectPostgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
			return 0, fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer func() {
			// A fresh context: the caller's may be cancelled, and a lock
			// left behind would block the next migration until this
			// session ends.
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey)); uerr != nil && err == nil {
				err = fmt.Errorf("store: migrate: unlock: %w", uerr)
			}
		}()
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return 0, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		done, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return applied, fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if done {
			applied++
		}
	}
	// Data every database needs, not only schema: the catalogs an admin
	// edits afterwards. Idempotent, so it runs on every Migrate.
	if err := s.EnsureCatalog(ctx); err != nil {
		return applied, fmt.Errorf("store: migrate: %w", err)
	}
	return applied, nil
}

// applyMigration applies m unless it is already recorded; the check is
// inside the transaction so a concurrent SQLite migrator cannot apply it
// twice.
func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.rebind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), m.version, toMS(s.Now())); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// Pending returns the names of the migrations not yet applied. serve and
// worker refuse to start on a database that is behind the code: queries
// against missing columns would fail later, one request at a time.
func (s *Store) Pending(ctx context.Context) ([]string, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, fmt.Errorf("store: pending migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		// No schema_migrations table: nothing was ever applied.
		if _, perr := s.db.ExecContext(ctx, "SELECT 1"); perr != nil {
			return nil, dbError("pending migrations", perr)
		}
		rows = nil
	}
	if rows != nil {
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return nil, dbError("pending migrations", err)
			}
			applied[v] = true
		}
		if err := rows.Err(); err != nil {
			return nil, dbError("pending migrations", err)
		}
	}
	var out []string
	for _, m := range ms {
		if !applied[m.version] {
			out = append(out, m.name)
		}
	}
	return out, nil
}
