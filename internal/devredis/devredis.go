// Package devredis runs an in-process Redis (miniredis) for `vanthu dev`, so
// a newcomer needs nothing installed. Two things make it fit for a real
// queue: its clock follows the wall clock (a ticker plus ClockTTL, so key
// expiry, leases and unique locks work), and its keys are saved to a
// snapshot file on Close and loaded on Start, so tasks queued when the
// developer pressed Ctrl-C are still there next time.
package devredis

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running in-process Redis.
type Server struct {
	m        *miniredis.Miniredis
	snapshot string
	logger   *slog.Logger
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// Start listens on addr ("127.0.0.1:0" for any free port) and loads the
// snapshot file if it exists. snapshot may be empty: nothing is persisted.
func Start(addr, snapshot string, logger *slog.Logger) (*Server, error) {
	m := miniredis.NewMiniRedis()
	m.SetTime(time.Now())
	m.ClockTTL(true)
	s := &Server{m: m, snapshot: snapshot, logger: logger, stop: make(chan struct{})}
	if snapshot != "" {
		n, err := s.load()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			logger.Info("dev redis: snapshot loaded", slog.String("path", snapshot), slog.Int("keys", n))
		}
	}
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("dev redis: listen on %s: %w", addr, err)
	}
	s.wg.Add(1)
	go s.tick()
	return s, nil
}

// tick advances miniredis's clock with the wall clock; with ClockTTL on,
// TTLs shrink as it moves.
func (s *Server) tick() {
	defer s.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.m.SetTime(now)
		}
	}
}

// Addr is the "host:port" clients connect to.
func (s *Server) Addr() string { return s.m.Addr() }

// Close stops the server and writes the snapshot. Call it after every client
// (Asynq server, scheduler) has shut down, so the snapshot is consistent.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if s.snapshot != "" {
			var n int
			n, err = s.save()
			if err == nil {
				s.logger.Info("dev redis: snapshot saved", slog.String("path", s.snapshot), slog.Int("keys", n))
			}
		}
		s.m.Close()
	})
	return err
}

// entry is one key of the snapshot. Values are Go strings, which gob keeps
// byte for byte (Asynq stores protobuf in them).
type entry struct {
	Key  string
	Type string
	TTL  time.Duration
	Str  string
	List []string
	Set  []string
	Hash map[string]string
	ZSet map[string]float64
}

func (s *Server) save() (int, error) {
	var entries []entry
	for _, k := range s.m.Keys() {
		e := entry{Key: k, Type: s.m.Type(k), TTL: s.m.TTL(k)}
		var err error
		switch e.Type {
		case "string":
			e.Str, err = s.m.Get(k)
		case "list":
			e.List, err = s.m.List(k)
		case "set":
			e.Set, err = s.m.Members(k)
		case "hash":
			var fields []string
			fields, err = s.m.HKeys(k)
			e.Hash = make(map[string]string, len(fields))
			for _, f := range fields {
				e.Hash[f] = s.m.HGet(k, f)
			}
		case "zset":
			e.ZSet, err = s.m.SortedSet(k)
		default:
			s.logger.Warn("dev redis: key type not saved", slog.String("key", k), slog.String("type", e.Type))
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("dev redis: read %s: %w", k, err)
		}
		entries = append(entries, e)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(entries); err != nil {
		return 0, fmt.Errorf("dev redis: encode snapshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.snapshot), 0o755); err != nil {
		return 0, fmt.Errorf("dev redis: %w", err)
	}
	tmp := s.snapshot + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return 0, fmt.Errorf("dev redis: write snapshot: %w", err)
	}
	if err := os.Rename(tmp, s.snapshot); err != nil {
		return 0, fmt.Errorf("dev redis: write snapshot: %w", err)
	}
	return len(entries), nil
}

func (s *Server) load() (int, error) {
	b, err := os.ReadFile(s.snapshot)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dev redis: read snapshot: %w", err)
	}
	var entries []entry
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&entries); err != nil {
		// A damaged snapshot must not stop dev mode: the database is the
		// source of truth and the reconciler re-derives lost work.
		s.logger.Warn("dev redis: snapshot unreadable, starting empty", slog.String("path", s.snapshot), slog.String("error", err.Error()))
		return 0, nil
	}
	for _, e := range entries {
		switch e.Type {
		case "string":
			err = s.m.Set(e.Key, e.Str)
		case "list":
			_, err = s.m.Push(e.Key, e.List...)
		case "set":
			_, err = s.m.SetAdd(e.Key, e.Set...)
		case "hash":
			for f, v := range e.Hash {
				s.m.HSet(e.Key, f, v)
			}
		case "zset":
			for member, score := range e.ZSet {
				if _, err = s.m.ZAdd(e.Key, score, member); err != nil {
					break
				}
			}
		}
		if err != nil {
			return 0, fmt.Errorf("dev redis: restore %s: %w", e.Key, err)
		}
		if e.TTL > 0 {
			s.m.SetTTL(e.Key, e.TTL)
		}
	}
	return len(entries), nil
}
