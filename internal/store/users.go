package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/vntext"
)

const userColumns = `id, username, full_name, role, password_hash, active, created_at`

// lastUsedResolution is how stale last_used_at may get: writing it on every
// request would turn each authenticated read into a write.
const lastUsedResolution = time.Minute

func scanUser(sc interface{ Scan(...any) error }) (vanthu.User, error) {
	var (
		u       vanthu.User
		role    string
		created int64
	)
	if err := sc.Scan(&u.ID, &u.Username, &u.FullName, &role, &u.PasswordHash, &u.Active, &created); err != nil {
		return u, err
	}
	u.Role = vanthu.Role(role)
	u.CreatedAt = fromMS(created)
	return u, nil
}

func userSubject(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// CreateUser validates u, stores it and records a user_created event in the
// same transaction. It sets u.ID and u.CreatedAt. A taken username is
// EConflict.
func (s *Store) CreateUser(ctx context.Context, u *vanthu.User, actor string) error {
	u.Username = vntext.NFC(u.Username)
	u.FullName = vntext.Clean(u.FullName)
	if err := u.Validate(); err != nil {
		return err
	}
	now := s.now()
	u.CreatedAt = now
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO users (username, full_name, role, password_hash, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			u.Username, u.FullName, string(u.Role), u.PasswordHash, u.Active, toMS(now)).Scan(&u.ID)
		if isUnique(err) {
			return &vanthu.Error{Code: vanthu.EConflict, Message: fmt.Sprintf("Tên đăng nhập %s đã được dùng.", u.Username), Err: err}
		}
		if err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"username": u.Username, "full_name": u.FullName, "role": u.Role, "active": u.Active})
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: actor, Action: "user_created", Source: sourceOf(actor),
			Subject: userSubject(u.ID), Detail: string(detail),
		})
	})
	if err != nil {
		u.ID = 0
		return dbError("create user", err)
	}
	return nil
}

func (s *Store) getUser(ctx context.Context, cond string, arg any) (vanthu.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.rebind("SELECT "+userColumns+" FROM users WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy người dùng.")
	}
	if err != nil {
		return u, dbError("get user", err)
	}
	return u, nil
}

// GetUser returns the user with id, or ENotFound.
func (s *Store) GetUser(ctx context.Context, id int64) (vanthu.User, error) {
	return s.getUser(ctx, "id = ?", id)
}

// GetUserByUsername returns the user with username, compared
// case-insensitively (usernames are stored lower-case), or ENotFound.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (vanthu.User, error) {
	return s.getUser(ctx, "username = ?", strings.ToLower(strings.TrimSpace(vntext.NFC(username))))
}

// ListUsers returns every user, by username.
func (s *Store) ListUsers(ctx context.Context) ([]vanthu.User, error) {
	return queryAll(ctx, s.db, "list users", "SELECT "+userColumns+" FROM users ORDER BY username", scanUser)
}

// SetPasswordHash replaces the user's password hash and records a
// user_password_changed event. ENotFound if there is no such user.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("UPDATE users SET password_hash = ? WHERE id = ?"), hash, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy người dùng.")
		}
		// The actor is not known here; the hash itself never goes into
		// the log.
		return s.insertEvent(ctx, tx, &vanthu.Event{
			At: now, Actor: "system", Action: "user_password_changed", Source: vanthu.SourceSystem,
			Subject: userSubject(userID), Detail: "{}",
		})
	})
	return dbError("set password hash", err)
}

const tokenColumns = `id, user_id, kind, name, hash, created_at, expires_at, last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (vanthu.Token, error) {
	var (
		t                 vanthu.Token
		created           int64
		expires, lastUsed sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.UserID, &t.Kind, &t.Name, &t.Hash, &created, &expires, &lastUsed); err != nil {
		return t, err
	}
	t.CreatedAt = fromMS(created)
	t.ExpiresAt = timePtr(expires)
	t.LastUsedAt = timePtr(lastUsed)
	return t, nil
}

// CreateToken stores a credential and sets t.ID and t.CreatedAt. A hash
// already stored is EConflict; an unknown user is EInvalid.
func (s *Store) CreateToken(ctx context.Context, t *vanthu.Token) error {
	if t.Kind != vanthu.TokenSession && t.Kind != vanthu.TokenAPI {
		return vanthu.Invalid("Loại khóa truy cập không hợp lệ.", vanthu.Problem{Field: "kind", Message: "Loại khóa phải là session hoặc api."})
	}
	if len(t.Hash) == 0 {
		return vanthu.Invalid("Khóa truy cập không hợp lệ.", vanthu.Problem{Field: "hash", Message: "Thiếu mã băm của khóa."})
	}
	t.Name = vntext.Clean(t.Name)
	t.CreatedAt = s.now()
	err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO tokens (user_id, kind, name, hash, created_at, expires_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		t.UserID, t.Kind, t.Name, t.Hash, toMS(t.CreatedAt), nullMS(t.ExpiresAt), nullMS(t.LastUsedAt)).Scan(&t.ID)
	if isUnique(err) {
		return &vanthu.Error{Code: vanthu.EConflict, Message: "Khóa truy cập đã tồn tại.", Err: err}
	}
	if isForeignKey(err) {
		return &vanthu.Error{Code: vanthu.EInvalid, Message: "Không tìm thấy người dùng sở hữu khóa.", Err: err}
	}
	return dbError("create token", err)
}

var errBadToken = vanthu.Errorf(vanthu.EUnauthorized, "Phiên đăng nhập hoặc khóa truy cập không hợp lệ hoặc đã hết hạn.")

// UserByToken returns the active user owning an unexpired token of kind
// with hash, and the token. Anything else (unknown, expired, user inactive)
// is EUnauthorized, without saying which, so a caller cannot probe.
// last_used_at is refreshed at most once a minute.
func (s *Store) UserByToken(ctx context.Context, kind string, hash []byte) (vanthu.User, vanthu.Token, error) {
	now := s.now()
	row := s.db.QueryRowContext(ctx, s.rebind(`SELECT u.id, u.username, u.full_name, u.role, u.password_hash, u.active, u.created_at,
			t.id, t.user_id, t.kind, t.name, t.hash, t.created_at, t.expires_at, t.last_used_at
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.kind = ? AND t.hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.active = ?`),
		kind, hash, toMS(now), true)
	var (
		u                 vanthu.User
		t                 vanthu.Token
		role              string
		uCreated, created int64
		expires, lastUsed sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &role, &u.PasswordHash, &u.Active, &uCreated,
		&t.ID, &t.UserID, &t.Kind, &t.Name, &t.Hash, &created, &expires, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return vanthu.User{}, vanthu.Token{}, errBadToken
	}
	if err != nil {
		return vanthu.User{}, vanthu.Token{}, dbError("user by token", err)
	}
	u.Role = vanthu.Role(role)
	u.CreatedAt = fromMS(uCreated)
	t.CreatedAt = fromMS(created)
	t.ExpiresAt = timePtr(expires)
	t.LastUsedAt = timePtr(lastUsed)
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedResolution {
		_, err := s.exec(ctx, s.rebind("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)"),
			toMS(now), t.ID, toMS(now.Add(-lastUsedResolution)))
		if err != nil {
			return vanthu.User{}, vanthu.Token{}, dbError("user by token: touch", err)
		}
		t.LastUsedAt = &now
	}
	return u, t, nil
}

// DeleteToken deletes the token of kind with hash (logout). ENotFound if
// there is none.
func (s *Store) DeleteToken(ctx context.Context, kind string, hash []byte) error {
	res, err := s.exec(ctx, s.rebind("DELETE FROM tokens WHERE kind = ? AND hash = ?"), kind, hash)
	return deleted("delete token", res, err)
}

func deleted(op string, res sql.Result, err error) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n == 0 {
		return vanthu.Errorf(vanthu.ENotFound, "Không tìm thấy khóa truy cập.")
	}
	return nil
}

// ListTokens returns the user's tokens of kind, newest first.
func (s *Store) ListTokens(ctx context.Context, userID int64, kind string) ([]vanthu.Token, error) {
	return queryAll(ctx, s.db, "list tokens", s.rebind("SELECT "+tokenColumns+" FROM tokens WHERE user_id = ? AND kind = ? ORDER BY created_at DESC, id DESC"),
		scanToken, userID, kind)
}

// DeleteTokenByID deletes the user's token id. ENotFound if the token does
// not exist or belongs to someone else: a user may only revoke their own.
func (s *Store) DeleteTokenByID(ctx context.Context, userID, id int64) error {
	res, err := s.exec(ctx, s.rebind("DELETE FROM tokens WHERE id = ? AND user_id = ?"), id, userID)
	return deleted("delete token by id", res, err)
}

// DeleteExpiredTokens deletes every expired token and returns how many.
func (s *Store) DeleteExpiredTokens(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, s.rebind("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?"), toMS(s.now()))
	if err != nil {
		return 0, dbError("delete expired tokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete expired tokens", err)
	}
	return n, nil
}
