package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPServer describes a running Dovecot.
type IMAPServer struct {
	Addr  string            // "127.0.0.1:port", plaintext IMAP (no TLS)
	Users map[string]string // login -> password

	logPath string // server log, shown when Deliver fails
}

// Dovecot starts a Dovecot IMAP server for this test with the given users
// (logins such as "vanban@snv.test" mapped to passwords), maildir storage
// in a temporary directory and plaintext login allowed on loopback. The
// server is stopped by t.Cleanup. If Dovecot is not installed the test
// fails in CI and is skipped otherwise.
func Dovecot(t testing.TB, users map[string]string) *IMAPServer {
	t.Helper()
	bin, err := findDovecot()
	if err != nil {
		missing(t, "dovecot", err.Error())
	}
	for login, pass := range users {
		// The passwd-file format is colon-separated, one user per line.
		if login == "" || strings.ContainsAny(login, ":\r\n") || strings.ContainsAny(pass, ":\r\n") {
			t.Fatalf("testenv: dovecot: login %q or its password contains ':' or a newline", login)
		}
	}
	ids, err := dovecotIdentities()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}

	// Not t.TempDir: its parents are mode 0700, and Dovecot's auth and
	// login processes run as unprivileged users that must reach the
	// passwd file and sockets under this directory.
	dir, err := os.MkdirTemp("", "vanthu-testenv-dovecot-")
	if err != nil {
		t.Fatalf("testenv: dovecot: temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testenv: dovecot: %v", err)
	}
	// The maildirs' parent must belong to the mail user, who is not us
	// when we are root.
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatalf("testenv: dovecot: %v", err)
	}
	if err := os.Chown(home, ids.mailUID, ids.mailGID); err != nil {
		t.Fatalf("testenv: dovecot: %v", err)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, passwdFile(users), 0o644); err != nil {
		t.Fatalf("testenv: dovecot: %v", err)
	}

	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("testenv: dovecot: %v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		conf := filepath.Join(dir, fmt.Sprintf("dovecot-%d.conf", attempt))
		logPath := filepath.Join(dir, fmt.Sprintf("dovecot-%d.log", attempt))
		if err := os.WriteFile(conf, []byte(dovecotConfig(dir, port, passwd, logPath, ids)), 0o644); err != nil {
			t.Fatalf("testenv: dovecot: %v", err)
		}
		cmd := exec.Command(bin, "-F", "-c", conf)
		p, err := startProc("dovecot", cmd, filepath.Join(dir, fmt.Sprintf("dovecot-%d.out", attempt)), nil)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		if err := p.waitReady(func() error { return imapGreeting(addr) }); err != nil {
			p.stop(syscall.SIGKILL, 0)
			lastErr = fmt.Errorf("%w\ndovecot output:\n%s\ndovecot log:\n%s", err, p.logTail(), readTail(logPath))
			continue
		}
		t.Cleanup(func() { p.stop(syscall.SIGTERM, 10*time.Second) })
		copied := make(map[string]string, len(users))
		for k, v := range users {
			copied[k] = v
		}
		return &IMAPServer{Addr: addr, Users: copied, logPath: logPath}
	}
	t.Fatalf("testenv: dovecot did not start: %v", lastErr)
	return nil
}

// Deliver puts a raw RFC 5322 message into user's INBOX with an IMAP
// APPEND, so delivery goes through the server like a real client's would.
func (s *IMAPServer) Deliver(t testing.TB, user string, raw []byte) {
	t.Helper()
	pass, ok := s.Users[user]
	if !ok {
		t.Fatalf("testenv: deliver: unknown user %q", user)
	}
	if err := s.deliver(user, pass, raw); err != nil {
		t.Fatalf("testenv: deliver to %s: %v\ndovecot log:\n%s", user, err, readTail(s.logPath))
	}
}

func (s *IMAPServer) deliver(user, pass string, raw []byte) error {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return fmt.Errorf("dial %s: %w", s.Addr, err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

func findDovecot() (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	// Debian puts it in /usr/sbin, which a non-root PATH often lacks.
	if isExecutable("/usr/sbin/dovecot") {
		return "/usr/sbin/dovecot", nil
	}
	return "", fmt.Errorf("no dovecot in PATH or /usr/sbin; install the dovecot-imapd package")
}

// dovecotIDs are the OS identities the Dovecot instance runs with.
type dovecotIDs struct {
	root          bool
	internalUser  string // auth, anvil, stats…
	internalGroup string // group of the internal sockets
	loginUser     string // imap-login
	mailUID       int    // owner of the maildirs
	mailGID       int
}

// dovecotIdentities picks Dovecot's users. As root (CI) the packaged
// dovecot/dovenull users run the helper processes and the mail belongs to
// "nobody", because Dovecot never lets mail processes run as root. As a
// normal user everything runs as that user, without chroot.
func dovecotIdentities() (dovecotIDs, error) {
	ids := dovecotIDs{root: os.Geteuid() == 0}
	mailUser := "nobody"
	if !ids.root {
		me, err := user.Current()
		if err != nil {
			return dovecotIDs{}, fmt.Errorf("dovecot: current user: %w", err)
		}
		g, err := user.LookupGroupId(me.Gid)
		if err != nil {
			return dovecotIDs{}, fmt.Errorf("dovecot: group of current user: %w", err)
		}
		ids.internalUser, ids.loginUser, mailUser = me.Username, me.Username, me.Username
		ids.internalGroup = g.Name
	} else {
		for _, name := range []string{"dovecot", "dovenull"} {
			if _, err := user.Lookup(name); err != nil {
				return dovecotIDs{}, fmt.Errorf("dovecot: OS user %q (created by the dovecot-core package): %w", name, err)
			}
		}
		ids.internalUser, ids.internalGroup, ids.loginUser = "dovecot", "dovecot", "dovenull"
	}
	u, err := user.Lookup(mailUser)
	if err != nil {
		return dovecotIDs{}, fmt.Errorf("dovecot: mail OS user %q: %w", mailUser, err)
	}
	if ids.mailUID, err = strconv.Atoi(u.Uid); err != nil {
		return dovecotIDs{}, fmt.Errorf("dovecot: uid %q: %w", u.Uid, err)
	}
	if ids.mailGID, err = strconv.Atoi(u.Gid); err != nil {
		return dovecotIDs{}, fmt.Errorf("dovecot: gid %q: %w", u.Gid, err)
	}
	return ids, nil
}

func passwdFile(users map[string]string) []byte {
	logins := make([]string, 0, len(users))
	for login := range users {
		logins = append(logins, login)
	}
	sort.Strings(logins)
	var b strings.Builder
	for _, login := range logins {
		fmt.Fprintf(&b, "%s:{PLAIN}%s\n", login, users[login])
	}
	return []byte(b.String())
}

// dovecotConfig writes a self-contained configuration for Dovecot 2.3: it
// does not include /etc/dovecot, so the system's settings cannot interfere.
func dovecotConfig(dir, port, passwd, logPath string, ids dovecotIDs) string {
	// Only root may chroot; as a normal user the login and anvil
	// processes must run unconfined or they die at start.
	loginChroot, anvilChroot := "", ""
	if ids.root {
		loginChroot, anvilChroot = "login", "empty"
	}
	return fmt.Sprintf(`# Generated by internal/testenv for one test.
protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = vanthu-testenv-%[2]s
log_path = %[4]s
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[5]s
default_login_user = %[6]s
default_internal_group = %[10]s
first_valid_uid = %[7]d
first_valid_gid = %[8]d
mail_uid = %[7]d
mail_gid = %[8]d
mail_location = maildir:~/Maildir
mail_fsync = never
# Tests of wrong passwords must not slow down the next logins: no failure
# delay here, and no per-IP auth penalty (see service anvil below).
auth_failure_delay = 0

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[3]s
}
userdb {
  driver = static
  args = home=%[1]s/home/%%u
}

service imap-login {
  chroot = %[9]s
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]s
  }
  inet_listener imaps {
    port = 0
  }
}

# Without this socket the auth process cannot reach anvil's penalty
# tracking and disables it (Dovecot's documented switch).
service anvil {
  chroot = %[11]s
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

protocol imap {
  # Tests open many connections from one address at once.
  mail_max_userip_connections = 1000
}
`, dir, port, passwd, logPath, ids.internalUser, ids.loginUser, ids.mailUID, ids.mailGID, loginChroot, ids.internalGroup, anvilChroot)
}

// imapGreeting reports whether an IMAP server answers with "* OK".
func imapGreeting(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	// Dovecot greets with "* OK Waiting for authentication process…"
	// until its auth service is up; only the real greeting means ready.
	if !strings.HasPrefix(line, "* OK") || strings.Contains(line, "Waiting for authentication") {
		return fmt.Errorf("%w: greeting %q", errNotReady, strings.TrimSpace(line))
	}
	return nil
}
