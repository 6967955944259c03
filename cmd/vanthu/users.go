package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/config"
	"github.com/sonoivu/vanthu/internal/store"
	"github.com/sonoivu/vanthu/internal/vntext"
	"github.com/sonoivu/vanthu/internal/web"
)

// createUser adds a user from the command line: how the first admin of a
// production database comes to exist. The password is read from the first
// line of stdin so that it stays out of the process list and shell history.
func createUser(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, out io.Writer) error {
	if len(args) != 3 {
		return errors.New(`usage: echo PASSWORD | vanthu users create USERNAME ROLE "FULL NAME"   (ROLE: admin, clerk, inspector, viewer)`)
	}
	u := vanthu.User{Username: vntext.NFC(args[0]), Role: vanthu.Role(args[1]), FullName: vntext.Clean(args[2]), Active: true}
	err := u.Validate()
	ps := vanthu.ProblemsOf(err)
	pw, rerr := bufio.NewReader(stdin).ReadString('\n')
	if rerr != nil && rerr != io.EOF {
		return fmt.Errorf("read password from stdin: %w", rerr)
	}
	pw = strings.TrimRight(pw, "\r\n")
	if p := vanthu.CheckPassword(pw); p != nil {
		ps = append(ps, *p)
	}
	if len(ps) > 0 {
		return problemsError("user not created:", ps)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = string(h)
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateUser(ctx, &u, "cli"); err != nil {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	fmt.Fprintf(out, "user %s created (%s, id %d)\n", u.Username, u.Role, u.ID)
	return nil
}

// createToken prints a new API token for a user, for scripts and for the
// other systems of the department that call the API.
func createToken(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	if len(args) != 2 {
		return errors.New(`usage: vanthu tokens create USERNAME "TOKEN NAME"`)
	}
	st, err := openMigratedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return issueToken(ctx, st, args[0], args[1], out)
}

func issueToken(ctx context.Context, st *store.Store, username, name string, out io.Writer) error {
	u, err := st.GetUserByUsername(ctx, strings.ToLower(username))
	if err != nil {
		return fmt.Errorf("user %s: %w", username, err)
	}
	secret, err := web.NewSecret()
	if err != nil {
		return err
	}
	name = vntext.Clean(name)
	if name == "" {
		return errors.New("the token needs a name, to recognise it when revoking it")
	}
	if err := st.CreateToken(ctx, &vanthu.Token{UserID: u.ID, Kind: vanthu.TokenAPI, Name: name, Hash: web.HashSecret(secret)}); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	// Shown once: only its hash is stored.
	fmt.Fprintln(out, secret)
	return nil
}

// problemsError lists every problem on its own line, naming its line (for
// files) and field.
func problemsError(what string, ps []vanthu.Problem) error {
	var b strings.Builder
	b.WriteString(what)
	for _, p := range ps {
		b.WriteString("\n  ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "dòng %d: ", p.Line)
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Message)
	}
	return errors.New(b.String())
}
