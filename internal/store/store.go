// Package store keeps the service's state in SQL: SQLite (pure Go, the
// embedded default) or PostgreSQL (shared by several machines). Every
// method runs the same query text on both; only the placeholders are
// rewritten for PostgreSQL, and the schema has one migration file per
// dialect.
//
// Times are stored as BIGINT unix milliseconds UTC in both dialects, so
// comparisons are exact integers and there is one conversion path.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sonoivu/vanthu"
)

// Dialects returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is the SQL storage. It is safe for concurrent use.
type Store struct {
	// Now returns the current time; it defaults to time.Now and tests fix it.
	Now func() time.Time

	db      *sql.DB
	dialect string
	// stmts holds the hot statements prepared once (see cached).
	stmts sync.Map // query → *sql.Stmt
	// writer admits one SQLite write transaction at a time (see
	// lockWrite); nil on PostgreSQL.
	writer chan struct{}
}

// Open opens dsn: "postgres://…" or "postgresql://…" is PostgreSQL; anything
// else is a SQLite database file path, whose parent directory is created.
// It checks the connection but does not migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{Now: time.Now}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = DialectPostgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(20)
		s.db.SetMaxIdleConns(5)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		s.dialect = DialectSQLite
		if dsn == "" {
			return nil, vanthu.Errorf(vanthu.EInvalid, "Chưa cấu hình đường dẫn cơ sở dữ liệu.")
		}
		if strings.ContainsRune(dsn, '?') {
			// The driver reads everything after '?' as connection
			// options; silently opening a different file would be worse.
			return nil, vanthu.Errorf(vanthu.EInvalid, "Đường dẫn tệp cơ sở dữ liệu SQLite không được chứa dấu '?'.")
		}
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: create database directory: %w", err)
			}
		}
		s.db, err = sql.Open("sqlite", sqliteDSN(dsn))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// SQLite has one writer at a time; a few connections let readers
		// proceed in WAL mode while writers queue on busy_timeout.
		s.db.SetMaxOpenConns(8)
		s.db.SetMaxIdleConns(8)
		s.writer = make(chan struct{}, 1)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", s.dialect, err)
	}
	return s, nil
}

// sqliteDSN adds the connection settings every SQLite connection needs:
// WAL so readers do not block the writer, a busy timeout so concurrent
// writers wait instead of failing, foreign keys (off by default in SQLite),
// and BEGIN IMMEDIATE so a transaction takes the write lock up front rather
// than failing with SQLITE_BUSY when it upgrades from read to write.
func sqliteDSN(path string) string {
	return path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)"
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		_ = v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// cached returns q with its statements prepared once per Store and reused:
// the send path runs the same few statements for every unit, and SQLite
// parsing them again each time was 9 % of a fan-out's CPU. PostgreSQL's
// driver (pgx) already keeps its own statement cache, so there q is
// returned as it is.
func (s *Store) cached(q querier) querier {
	if s.dialect == DialectPostgres {
		return q
	}
	tx, _ := q.(*sql.Tx)
	return cachedQuerier{s: s, q: q, tx: tx}
}

// cachedQuerier runs queries through statements prepared once on the
// *sql.DB (database/sql prepares them again on each connection that needs
// them and keeps them), bound to the transaction when there is one.
type cachedQuerier struct {
	s  *Store
	q  querier
	tx *sql.Tx
}

func (c cachedQuerier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	v, ok := c.s.stmts.Load(query)
	if !ok {
		st, err := c.s.db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if v, ok = c.s.stmts.LoadOrStore(query, st); ok {
			_ = st.Close() // prepared concurrently by another caller
		}
	}
	st := v.(*sql.Stmt)
	if c.tx != nil {
		return c.tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (c cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		// A *sql.Row cannot carry an error built here: let the plain
		// querier run it and report the same failure.
		return c.q.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return &vanthu.Error{Code: vanthu.EUnavailable, Message: "Cơ sở dữ liệu không phản hồi.", Err: err}
	}
	return nil
}

// rebind rewrites the ? placeholders of query to $1..$n for PostgreSQL.
// Queries in this package never contain a literal '?'.
func (s *Store) rebind(query string) string {
	if s.dialect != DialectPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// queryAll runs query (already rebound) on q and scans every row with scan.
// It returns an empty, non-nil slice when nothing matches, so that JSON
// lists are [] rather than null. Errors are wrapped with op.
func queryAll[T any](ctx context.Context, q querier, op, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}

// lockWrite waits for SQLite's one write slot and returns its release;
// on PostgreSQL it does nothing. SQLite would queue concurrent writers
// itself, but in its busy handler, which sleeps 1, 2, 5, 10… ms between
// tries while the lock is held for a fraction of a millisecond: twenty
// send workers spent a good part of their time asleep. Queued here, the
// next writer starts the moment the last one commits.
func (s *Store) lockWrite(ctx context.Context) (func(), error) {
	if s.writer == nil {
		return func() {}, nil
	}
	select {
	case s.writer <- struct{}{}:
		return func() { <-s.writer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one write statement outside a transaction, in the write slot,
// through a statement prepared once (cached).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.cached(s.db).ExecContext(ctx, query, args...)
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
// Transactions must not nest: the write slot is not reentrant.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// now returns the store's current time at the stored precision, so that a
// value returned to the caller equals what is read back later.
func (s *Store) now() time.Time { return fromMS(toMS(s.Now())) }

func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(*t), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isForeignKey reports whether err is a foreign-key violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// dbError turns a driver error into the domain error a caller can act on,
// or wraps it once with the operation's name. Domain errors pass through.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *vanthu.Error
	if errors.As(err, &ve) {
		return err
	}
	switch {
	case isUnique(err):
		return &vanthu.Error{Code: vanthu.EConflict, Message: "Dữ liệu trùng với một bản ghi đã có.", Err: fmt.Errorf("store: %s: %w", op, err)}
	case isForeignKey(err):
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Dữ liệu tham chiếu tới một bản ghi không tồn tại.", Err: fmt.Errorf("store: %s: %w", op, err)}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// sourceOf guesses the event source from the actor: the command line and the
// seeder are the system; everything else reaches the store through the web
// layer (pages or API).
func sourceOf(actor string) vanthu.EventSource {
	switch actor {
	case "cli", "seed", "system", "":
		return vanthu.SourceSystem
	}
	return vanthu.SourceWeb
}
