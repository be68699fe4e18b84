package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// mono is the machine's monotonic clock (CLOCK_MONOTONIC): it does not jump with the wall
// clock and, unlike Go's per-process monotonic reading, it survives a restart of the agent,
// so the last renewal a crashed agent saw still bounds what its successor may assume.
func mono() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}
