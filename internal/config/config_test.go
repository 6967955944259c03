package config

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	c, err := Load("serve", []string{"--http-addr", ":9000", "--smtp-port=2525"}, env(map[string]string{
		"VANTHU_HTTP_ADDR":        ":7000",
		"VANTHU_REDIS_URL":        "redis://:s3cret@redis:6379/0",
		"VANTHU_SMTP_HOST":        "mail.example.vn",
		"VANTHU_SMTP_PORT":        "465",
		"VANTHU_MAIL_FROM":        "Sở Nội vụ <vanban@snv.example.vn>",
		"VANTHU_SHUTDOWN_TIMEOUT": "5s",
		"VANTHU_SECRET_KEY":       "0123456789abcdef0123456789abcdef",
	}), ModeProduction, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":9000" {
		t.Errorf("flag should win over env: HTTPAddr = %q", c.HTTPAddr)
	}
	if c.SMTP.Port != 2525 || c.SMTP.Host != "mail.example.vn" {
		t.Errorf("SMTP = %+v", c.SMTP)
	}
	if c.ShutdownTimeout != 5*time.Second {
		t.Errorf("ShutdownTimeout = %v", c.ShutdownTimeout)
	}
	if c.DatabaseURL != "data/vanthu.db" {
		t.Errorf("DatabaseURL default = %q", c.DatabaseURL)
	}
	if c.BaseURL != "http://localhost:9000" || c.SecureCookies {
		t.Errorf("BaseURL = %q secure=%v", c.BaseURL, c.SecureCookies)
	}
}

func TestLoadErrorsNameTheSetting(t *testing.T) {
	prod := map[string]string{
		"VANTHU_REDIS_URL":  "redis://localhost:6379",
		"VANTHU_SMTP_HOST":  "mail.example.vn",
		"VANTHU_MAIL_FROM":  "vanban@snv.example.vn",
		"VANTHU_SECRET_KEY": "0123456789abcdef0123456789abcdef",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range prod {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad port env", with("VANTHU_SMTP_PORT", "abc"), nil, "VANTHU_SMTP_PORT"},
		{"bad port flag", prod, []string{"--imap-port", "70000"}, "--imap-port (VANTHU_IMAP_PORT)"},
		{"bad tls", with("VANTHU_SMTP_TLS", "ssl"), nil, "VANTHU_SMTP_TLS"},
		{"no redis", with("VANTHU_REDIS_URL", ""), nil, "VANTHU_REDIS_URL"},
		{"redis scheme", with("VANTHU_REDIS_URL", "http://x"), nil, "VANTHU_REDIS_URL"},
		{"no smtp", with("VANTHU_SMTP_HOST", ""), nil, "VANTHU_SMTP_HOST"},
		{"bad from", with("VANTHU_MAIL_FROM", "not an address"), nil, "VANTHU_MAIL_FROM"},
		{"bad http addr", with("VANTHU_HTTP_ADDR", "8080"), nil, "VANTHU_HTTP_ADDR"},
		{"bad base url", with("VANTHU_BASE_URL", "example.vn"), nil, "VANTHU_BASE_URL"},
		{"bad duration", with("VANTHU_SHUTDOWN_TIMEOUT", "-1s"), nil, "VANTHU_SHUTDOWN_TIMEOUT"},
		{"half login", with("VANTHU_SMTP_USERNAME", "u"), nil, "VANTHU_SMTP_USERNAME"},
		{"stray arg", prod, []string{"extra"}, "unexpected argument"},
		{"no secret key", with("VANTHU_SECRET_KEY", ""), nil, "VANTHU_SECRET_KEY"},
		{"short secret key", with("VANTHU_SECRET_KEY", "short"), nil, "VANTHU_SECRET_KEY"},
		{"bad tag separator", with("VANTHU_MAIL_TAG_SEPARATOR", "#"), nil, "VANTHU_MAIL_TAG_SEPARATOR"},
		{"bad domain rate", with("VANTHU_DOMAIN_RATE", "0"), nil, "VANTHU_DOMAIN_RATE"},
		{"bad remind every", with("VANTHU_REMIND_EVERY", "daily"), nil, "VANTHU_REMIND_EVERY"},
		{"bad processed", with("VANTHU_IMAP_PROCESSED", "delete"), nil, "VANTHU_IMAP_PROCESSED"},
		{"move without folder", with("VANTHU_IMAP_PROCESSED", "move: "), nil, "VANTHU_IMAP_PROCESSED"},
		{"bad ack link ttl", with("VANTHU_ACK_LINK_TTL", "forever"), nil, "VANTHU_ACK_LINK_TTL"},
		{"key without cert", with("VANTHU_SIGN_KEY", "/etc/vanthu/key.pem"), nil, "VANTHU_SIGN_KEY"},
		{"p12 and key", with("VANTHU_SIGN_P12", "a.p12"), []string{"--sign-key", "k.pem", "--sign-cert", "c.pem"}, "VANTHU_SIGN_P12"},
		{"missing sign roots", with("VANTHU_SIGN_ROOTS", "/nonexistent/ca.pem"), nil, "VANTHU_SIGN_ROOTS"},
		{"sign roots a directory", with("VANTHU_SIGN_ROOTS", os.TempDir()), nil, "VANTHU_SIGN_ROOTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("serve", tt.args, env(tt.env), ModeProduction, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestIMAPProcessed(t *testing.T) {
	for in, want := range map[string]string{"keep": "keep", " Seen ": "seen", "FLAG": "flag", "move:Đã xử lý": "move:Đã xử lý", "MOVE: Archive ": "move:Archive"} {
		c, err := Load("dev", nil, env(map[string]string{"VANTHU_IMAP_PROCESSED": in}), ModeDev, io.Discard)
		if err != nil || c.IMAPProcessed != want {
			t.Errorf("VANTHU_IMAP_PROCESSED=%q → %q, %v; want %q", in, c.IMAPProcessed, err, want)
		}
	}
}

func TestSignRootsConfig(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load("dev", []string{"--sign-roots", ca}, env(nil), ModeDev, io.Discard)
	if err != nil || c.SignRoots != ca {
		t.Fatalf("--sign-roots: %q, %v", c.SignRoots, err)
	}
	var b bytes.Buffer
	if err := c.Print(&b); err != nil || !strings.Contains(b.String(), "VANTHU_SIGN_ROOTS="+ca+"\n") {
		t.Errorf("Print lacks VANTHU_SIGN_ROOTS (%v):\n%s", err, b.String())
	}
	// Unset is allowed: the page then checks signatures but not signers.
	if c, err := Load("dev", nil, env(nil), ModeDev, io.Discard); err != nil || c.SignRoots != "" {
		t.Errorf("default SignRoots = %q, %v", c.SignRoots, err)
	}
}

func TestDevNeedsNothing(t *testing.T) {
	c, err := Load("dev", nil, env(nil), ModeDev, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisURL != "" || c.MailFrom == "" || c.DevSMTPAddr == "" {
		t.Fatalf("dev config = %+v", c)
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	c, err := Load("serve", nil, env(map[string]string{
		"VANTHU_REDIS_URL":     "redis://:r3dispw@redis:6379/0",
		"VANTHU_DATABASE_URL":  "postgres://vanthu:pgpass@db:5432/vanthu?sslmode=disable",
		"VANTHU_SMTP_HOST":     "mail.example.vn",
		"VANTHU_SMTP_USERNAME": "vanban",
		"VANTHU_SMTP_PASSWORD": "smtppw",
		"VANTHU_MAIL_FROM":     "vanban@snv.example.vn",
		"VANTHU_SECRET_KEY":    "s3cretk3y-0123456789abcdef0123456789",
	}), ModeProduction, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, secret := range []string{"r3dispw", "pgpass", "smtppw", "s3cretk3y"} {
		if strings.Contains(out, secret) {
			t.Errorf("Print leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"VANTHU_DATABASE_URL=postgres://vanthu:****@db:5432/vanthu?sslmode=disable",
		"VANTHU_SMTP_PASSWORD=****",
		"VANTHU_SMTP_USERNAME=vanban",
		"VANTHU_SMTP_HOST=mail.example.vn",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("Print lacks %q:\n%s", want, out)
		}
	}
}
