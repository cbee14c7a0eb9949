package introspect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
)

// Probe: WaitReady's discovery goroutines, against an issuer that never
// answers, called many times with short contexts, then Close.
func TestWaitReadyGoroutinesEndAtClose(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	base := runtime.NumGoroutine()
	c, err := introspect.Discover(srv.URL, introspect.ClientSecretBasic("rs", "secret"), introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(discard), introspect.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		_ = c.WaitReady(ctx)
		cancel()
	}
	during := runtime.NumGoroutine()
	c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && runtime.NumGoroutine() > base+5 {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("goroutines: base %d, during %d, after Close %d", base, during, runtime.NumGoroutine())
	if runtime.NumGoroutine() > base+5 {
		t.Errorf("goroutines left after Close")
	}
}
