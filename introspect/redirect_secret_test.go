package introspect_test

// Secrets in output (red-team review): introspection follows no redirect, but
// net/http parses a 3xx's Location before asking CheckRedirect, and its
// parse error quotes the Location whole; httpfetch.Do redacts only the
// *url.Error's URL. An endpoint (or a gateway in front of it) that
// redirects carrying the request's query over puts that query, and any
// user info, in the error and in the Warn log line.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/introspect"
)

func TestUnparseableRedirectLocationNotQuoted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://gw-user:LOC-PW-s3cr3t@gw.example:44x/introspect?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c, err := introspect.New(srv.URL+"/introspect?api_key=API-KEY-s3cr3t", introspect.ClientSecretBasic("rs", "pw"),
		introspect.WithInsecureLoopbackHTTP(), introspect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, ierr := c.Introspect(context.Background(), "opaque-token")
	outs := map[string]string{"log": logs.String()}
	if ierr != nil {
		outs["error"] = ierr.Error()
	}
	for where, out := range outs {
		for _, s := range []string{"LOC-PW-s3cr3t", "API-KEY-s3cr3t"} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %s: %s", where, s, strings.TrimSpace(out))
			}
		}
	}
}
