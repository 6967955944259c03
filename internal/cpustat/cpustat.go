// Package cpustat reads CPU time used so far, for benchmarks that compare
// two phases of one run: on a shared machine whose neighbours take cores
// away at random, CPU time per unit of work is steadier than a rate.
package cpustat

import (
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process returns the CPU time, user and system, this process has used.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Redis returns the CPU time a Redis server reports in the "cpu" section
// of its INFO (used_cpu_user plus used_cpu_sys); zero when info has neither,
// as an in-process Redis's has not.
func Redis(info string) time.Duration {
	var d time.Duration
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			d += time.Duration(f * float64(time.Second))
		}
	}
	return d
}
