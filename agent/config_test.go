package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The agent checks the timings itself too (an agent.json written by hand, or by an older
// gpmirror): it fences one retry window + one renew interval + the reconnect allowance after
// its last confirmed renewal, and that fence must be done before the lease can expire.
func TestTimingsFenceBeforeTheLeaseCanExpire(t *testing.T) {
	for _, tc := range []struct {
		ttl, renew, window int64
		fenceAfter         time.Duration // 0: refused
	}{
		{8, 500, 5000, 6500 * time.Millisecond}, // the defaults
		{8, 500, 5499, 6999 * time.Millisecond},
		{8, 500, 5500, 0}, // 6500 + 500 fence + 500 margin = 8 s: not less than the TTL
		{8, 500, 6500, 0}, // the old default window, which was the fence deadline itself
		{8, 5000, 5000, 0},
	} {
		path := filepath.Join(t.TempDir(), "agent.json")
		b, _ := json.Marshal(map[string]any{
			"name": "primary", "peer": "standby", "prefix": "/p", "endpoints": []string{"https://x:2379"},
			"pgBin": "/b", "dataDir": "/d", "socketDir": "/s", "port": 5432, "stateFile": "/s/state.json",
			"leaseTtlSeconds": tc.ttl, "renewIntervalMs": tc.renew, "retryWindowMs": tc.window,
		})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(path)
		switch {
		case tc.fenceAfter == 0 && (err == nil || !strings.Contains(err.Error(), "timings inconsistent")):
			t.Errorf("%+v: want a refusal of the timings, got %v", tc, err)
		case tc.fenceAfter != 0 && err != nil:
			t.Errorf("%+v: refused: %v", tc, err)
		case tc.fenceAfter != 0 && c.fenceAfter() != tc.fenceAfter:
			t.Errorf("%+v: fences after %v, want %v", tc, c.fenceAfter(), tc.fenceAfter)
		}
	}
}
