package cpustat_test

import (
	"testing"
	"time"

	"github.com/sonoivu/vanthu/internal/cpustat"
)

// TestRedis reads the two CPU fields of a real INFO cpu reply and nothing
// else.
func TestRedis(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\nused_cpu_user_main_thread:2.400000\r\n"
	if got, want := cpustat.Redis(info), 3750*time.Millisecond; got != want {
		t.Errorf("Redis = %v, want %v", got, want)
	}
	if got := cpustat.Redis("# Server\r\nredis_version:7.0.15\r\n"); got != 0 {
		t.Errorf("Redis without a cpu section = %v, want 0", got)
	}
}

// TestProcess: burning CPU makes the process's CPU time grow.
func TestProcess(t *testing.T) {
	before := cpustat.Process()
	x := 0
	for i := range 50_000_000 {
		x ^= i * i
	}
	if after := cpustat.Process(); after <= before {
		t.Errorf("CPU time %v → %v after a busy loop (%d)", before, after, x)
	}
}
