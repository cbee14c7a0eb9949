package introspect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
)

// TestQueuedCallersJoin: callers of one token waiting for a request slot
// join the call the first of them starts, rather than each wait for a
// slot of its own. With every slot held by slow answers about other
// tokens, a second caller of a good token was refused ("all request slots
// busy") at the end of its wait, although the first caller's answer had
// come long before.
func TestQueuedCallersJoin(t *testing.T) {
	var legit atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") == "legit" {
			legit.Add(1)
			_, _ = w.Write([]byte(`{"active":true,"sub":"alice","aud":"orders","exp":4000000000}`))
			return
		}
		time.Sleep(1500 * time.Millisecond) // a slow answer about a made-up token
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer srv.Close()
	c, err := introspect.New(srv.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithInsecureLoopbackHTTP(),
		introspect.WithMaxConcurrentRequests(1), introspect.WithTimeout(2*time.Second), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Introspect(context.Background(), "junk-1") }) // holds the one slot 1.5 s
	time.Sleep(50 * time.Millisecond)
	var errA, errB error
	wg.Go(func() { _, errA = c.Introspect(context.Background(), "legit") }) // first in line for the slot
	time.Sleep(50 * time.Millisecond)
	wg.Go(func() { _, _ = c.Introspect(context.Background(), "junk-2") }) // next: holds it 1.5 s more
	time.Sleep(50 * time.Millisecond)
	wg.Go(func() { _, errB = c.Introspect(context.Background(), "legit") }) // behind both
	wg.Wait()
	if errA != nil || errB != nil {
		t.Errorf("the two callers of a good token: %v, %v; want both answered by the first one's request", errA, errB)
	}
	if n := legit.Load(); n != 1 {
		t.Errorf("%d requests about the good token, want 1", n)
	}
}
