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
