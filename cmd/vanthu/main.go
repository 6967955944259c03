// Command vanthu is the one binary of the vanthu service. Its subcommands
// run the web server, the task workers, the scheduler, everything at once
// for development, and the admin chores. It only reads configuration and
// wires packages together; the logic lives in them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/config"
)

const usage = `vanthu — văn bản chỉ đạo, kiểm tra và báo cáo kỷ luật, kỷ cương hành chính

Usage: vanthu COMMAND [flags]

Commands:
  dev           everything in one process on embedded defaults (SQLite, in-process
                Redis, built-in mail server, sample data), web on :8080
  serve         the web server (HTTP API, pages, metrics, health)
  worker        the Asynq task workers
  scheduler     the periodic task scheduler (run exactly one)
  migrate       apply database migrations
  units import FILE
                import units from a CSV or XLSX file (all or nothing)
  users create USERNAME ROLE "FULL NAME"
                add a user; the password is read from stdin
  tokens create USERNAME "NAME"
                print a new API token for a user
  templates list | templates check [DIR]
                name the document, Excel and mail templates; check DIR's
                overrides against their sample data
  render --template NAME (--data FILE | --sample) -o FILE
                render a template offline to preview an edit: a document to
                .pdf, an Excel template to .xlsx, mail/NAME to .html or .txt
  sign (--key KEY --cert CERT | --p12 FILE [--password-file F]) [--reason R]
       [--location L] in.pdf out.pdf
                add a digital signature (PAdES) to a PDF; the .p12 password
                comes from --password-file or VANTHU_SIGN_PASSWORD
  verify [--roots CA.pem] file.pdf
                check every signature of a PDF: signer, time, whether the
                document changed after signing, whether the certificate
                chains to the roots; exit 0 only when all is well
  bench render  measure the document engine (PDF and Excel); the last line
                is "RESULT render key=value …"
  bench send [--units N] [--redis URL] [--database URL]
                send a directive to N units through workers, Redis and the
                database to a loopback SMTP sink, against the raw SMTP
                transport; the last line is "RESULT send key=value …"
  config        print the effective configuration, secrets masked
  healthcheck   exit 0 if the local web server answers /healthz (for containers)
  version       print the version

Every command takes the settings below as flags or VANTHU_* environment variables:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vanthu:", err)
		}
		os.Exit(1)
	}
}

// run executes one subcommand; main only adds the process around it, so
// tests can call run directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		config.Usage(stdout)
		if len(args) == 0 {
			return errors.New("missing command")
		}
		return nil
	}
	cmd, rest := args[0], args[1:]
	load := func(mode config.Mode, args []string) (config.Config, *slog.Logger, error) {
		cfg, err := config.Load("vanthu "+cmd, args, getenv, mode, stderr)
		if err != nil {
			return cfg, nil, err
		}
		return cfg, newLogger(cfg, stderr), nil
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "vanthu", vanthu.Version)
		return nil
	case "config":
		cfg, _, err := load(config.ModeAdmin, rest)
		if err != nil {
			return err
		}
		return cfg.Print(stdout)
	case "healthcheck":
		cfg, _, err := load(config.ModeAdmin, rest)
		if err != nil {
			return err
		}
		return healthcheck(ctx, cfg)
	case "migrate":
		cfg, logger, err := load(config.ModeAdmin, rest)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, logger, stdout)
	case "units":
		if len(rest) < 2 || rest[0] != "import" {
			return errors.New("usage: vanthu units import FILE [flags]")
		}
		file := rest[1]
		cfg, logger, err := load(config.ModeAdmin, rest[2:])
		if err != nil {
			return err
		}
		return importUnits(ctx, cfg, logger, file, stdout)
	case "users":
		if len(rest) < 1 || rest[0] != "create" {
			return errors.New(`usage: echo PASSWORD | vanthu users create USERNAME ROLE "FULL NAME"`)
		}
		cfg, _, err := load(config.ModeAdmin, nil)
		if err != nil {
			return err
		}
		return createUser(ctx, cfg, rest[1:], stdin, stdout)
	case "tokens":
		if len(rest) < 1 || rest[0] != "create" {
			return errors.New(`usage: vanthu tokens create USERNAME "TOKEN NAME"`)
		}
		cfg, _, err := load(config.ModeAdmin, nil)
		if err != nil {
			return err
		}
		return createToken(ctx, cfg, rest[1:], stdout)
	case "templates":
		return explain(templatesCmd(ctx, rest, getenv, stdout))
	case "render":
		return explain(renderCmd(ctx, rest, getenv, stdout, stderr))
	case "sign":
		return signCmd(ctx, rest, getenv, stdout, stderr)
	case "verify":
		return verifyCmd(ctx, rest, stdout, stderr)
	case "bench":
		return explain(benchCmd(ctx, rest, getenv, stdout, stderr))
	case "dev":
		cfg, logger, err := load(config.ModeDev, rest)
		if err != nil {
			return err
		}
		return dev(ctx, cfg, logger, stdout)
	case "serve":
		cfg, logger, err := load(config.ModeProduction, rest)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, logger)
	case "worker":
		cfg, logger, err := load(config.ModeProduction, rest)
		if err != nil {
			return err
		}
		return work(ctx, cfg, logger)
	case "scheduler":
		cfg, logger, err := load(config.ModeProduction, rest)
		if err != nil {
			return err
		}
		return schedule(ctx, cfg, logger)
	default:
		return fmt.Errorf("unknown command %q (run 'vanthu help')", cmd)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
