package jwks_test

// Secrets in output (red-team review): an upstream redirect whose Location does not
// parse is quoted whole by net/http's error ("failed to parse Location
// header %q"), and httpfetch.Do redacts only the *url.Error's URL field,
// not its inner error: the Location's user info and query values reach
// the error, Status().LastError and the log.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/jwks"
)

func TestUnparseableRedirectLocationNotQuoted(t *testing.T) {
	// A proxy in front of a signed JWKS URL redirects, carrying the
	// request's query over (as redirects do) to a target whose port is
	// mistyped.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://cdn-user:LOC-PW-s3cr3t@cdn.example:44x/jwks.json?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	set, err := jwks.New(srv.URL+"/jwks.json?X-Amz-Signature=SIG-s3cr3t",
		jwks.WithInsecureLoopbackHTTP(), jwks.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rerr := set.Refresh(ctx)
	outs := map[string]string{"log": logs.String()}
	if rerr != nil {
		outs["Refresh error"] = rerr.Error()
	}
	if st := set.Status(); st.LastError != nil {
		outs["Status().LastError"] = st.LastError.Error()
	}
	for where, out := range outs {
		for _, s := range []string{"LOC-PW-s3cr3t", "SIG-s3cr3t"} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %s: %s", where, s, strings.TrimSpace(out))
			}
		}
	}
}
