package jwks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/jwks"
)

// TestRefreshInterval: a non-positive interval is refused by New and
// Discover; a positive one outside [1 min, 24 h] is clamped to it.
func TestRefreshInterval(t *testing.T) {
	loadKeys()
	tests := []struct {
		name string
		d    time.Duration
		want time.Duration // 0: refused
	}{
		{"zero", 0, 0},
		{"negative", -time.Minute, 0},
		{"below the minimum", time.Second, jwks.MinRefreshInterval},
		{"the minimum", jwks.MinRefreshInterval, jwks.MinRefreshInterval},
		{"in range", 30 * time.Minute, 30 * time.Minute},
		{"the maximum", jwks.MaxRefreshInterval, jwks.MaxRefreshInterval},
		{"above the maximum", 48 * time.Hour, jwks.MaxRefreshInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == 0 {
				for name, build := range map[string]func(string, ...jwks.Option) (*jwks.Set, error){"New": jwks.New, "Discover": jwks.Discover} {
					set, err := build("https://id.example.com", jwks.WithRefreshInterval(tt.d), jwks.WithBodyLimit(1))
					if set != nil {
						set.Close()
					}
					if err == nil || !strings.Contains(err.Error(), "WithRefreshInterval") || !strings.Contains(err.Error(), "WithBodyLimit") {
						t.Errorf("%s(WithRefreshInterval(%v)) = %v, want it reported with every other problem", name, tt.d, err)
					}
				}
				return
			}
			srv := newServer(t, jwksDoc(jwk("a", &rsaA.PublicKey, nil))) // no Cache-Control
			set := newSet(t, srv, jwks.WithRefreshInterval(tt.d))
			if err := set.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := set.Status(); st.NextRefresh.Sub(st.LastRefresh) != tt.want {
				t.Errorf("WithRefreshInterval(%v): next refresh in %v, want %v", tt.d, st.NextRefresh.Sub(st.LastRefresh), tt.want)
			}
		})
	}
}

// TestDurationsAtTheirEdges: durations no configuration means are refused
// when the set is built. WithFetchTimeout(10) is 10 ns, in which no key set
// ever loaded; a maximum staleness not longer than the refresh interval
// made the keys stale between two refreshes while the issuer was up
// (WithMaxStaleness(30) refused every token).
func TestDurationsAtTheirEdges(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []jwks.Option
		want string // "": accepted
	}{
		{"fetch timeout 10 ns", []jwks.Option{jwks.WithFetchTimeout(10)}, "WithFetchTimeout: 10ns is under a millisecond"},
		{"fetch timeout 0", []jwks.Option{jwks.WithFetchTimeout(0)}, "WithFetchTimeout: 0s is under a millisecond"},
		{"fetch timeout 1 ms", []jwks.Option{jwks.WithFetchTimeout(time.Millisecond)}, ""},
		{"max staleness 30 ns", []jwks.Option{jwks.WithMaxStaleness(30)}, "WithMaxStaleness(30ns) is not longer than the refresh interval (15m0s)"},
		{"max staleness the refresh interval", []jwks.Option{jwks.WithMaxStaleness(jwks.DefaultRefreshInterval)}, "WithMaxStaleness(15m0s)"},
		{"max staleness past the refresh interval", []jwks.Option{jwks.WithMaxStaleness(jwks.DefaultRefreshInterval + time.Minute)}, ""},
		{"max staleness past a shorter interval", []jwks.Option{jwks.WithRefreshInterval(5 * time.Minute), jwks.WithMaxStaleness(10 * time.Minute)}, ""},
		{"max staleness under the clamped interval", []jwks.Option{jwks.WithRefreshInterval(time.Second), jwks.WithMaxStaleness(50 * time.Second)}, "WithMaxStaleness(50s) is not longer than the refresh interval (1m0s)"},
		{"max staleness 0", []jwks.Option{jwks.WithMaxStaleness(0)}, "WithMaxStaleness: must be positive"},
	} {
		for name, build := range map[string]func(string, ...jwks.Option) (*jwks.Set, error){"New": jwks.New, "Discover": jwks.Discover} {
			set, err := build("https://id.example.com", tt.opts...)
			if set != nil {
				set.Close()
			}
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("%s: %s: %v, want %q", tt.name, name, err, tt.want)
			}
		}
	}
}
