package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// dev-issuer serves a local issuer whose certificate, written to a file,
// is all an example service needs (--issuer-ca) to validate the token it
// prints and the tokens its client-credentials endpoint issues; without
// that file the service cannot reach the keys. Interrupted, it stops and
// removes the file.
func TestDevIssuer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan devIssuerStarted, 1)
	done := make(chan int, 1)
	var out, errOut lockedBuffer
	go func() {
		done <- devIssuer(ctx, []string{"--audience", "orders", "--scope", "read:data"}, &out, &errOut, func(s devIssuerStarted) { started <- s })
	}()
	var s devIssuerStarted
	select {
	case s = <-started:
	case code := <-done:
		t.Fatalf("dev-issuer exited %d: %s", code, errOut.String())
	case <-time.After(20 * time.Second):
		t.Fatal("dev-issuer did not start")
	}
	// It listens on loopback only: nothing on the network can reach it.
	if u, err := url.Parse(s.Issuer); err != nil || !net.ParseIP(u.Hostname()).IsLoopback() {
		t.Fatalf("the issuer listens at %q, not on loopback", s.Issuer)
	}
	for _, want := range []string{s.Issuer, s.CAFile, s.Token, "--issuer-ca " + s.CAFile, "development only"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output does not show %q:\n%s", want, out.String())
		}
	}

	guard := func(t *testing.T, args ...string) (*http.Client, func(token string) int) {
		t.Helper()
		cfg, err := setup.Parse("nethttp", append([]string{"--issuer", s.Issuer, "--audience", "orders", "--startup-timeout", "0"}, args...), func(string) string { return "" }, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		g, closeFn, err := cfg.Guard(nil) // no test client: what the service does
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		h := g.Require(scopes.All("read:data"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok, ok := validator.FromContext(r.Context()); !ok || tok.ClientID != s.ClientID {
				w.WriteHeader(http.StatusTeapot)
			}
		}))
		return cfg.HTTPClient(nil), func(token string) int {
			r := httptest.NewRequest("GET", "/data", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
	}

	client, call := guard(t, "--issuer-ca", s.CAFile)
	if code := call(s.Token); code != http.StatusOK {
		t.Errorf("the printed token with --issuer-ca: %d", code)
	}
	resp, err := client.PostForm(s.Issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {s.ClientID}, "client_secret": {s.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if err != nil || tr.AccessToken == "" {
		t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	if code := call(tr.AccessToken); code != http.StatusOK {
		t.Errorf("a client-credentials token: %d", code)
	}
	if code := call(s.Token + "x"); code != http.StatusUnauthorized {
		t.Errorf("a tampered token: %d", code)
	}
	if _, call := guard(t); call(s.Token) != http.StatusServiceUnavailable {
		t.Error("without --issuer-ca the service reached the issuer's keys")
	}
	// --issuer-ca trusts that certificate, not any other local issuer's:
	// another bearertest issuer, at its own loopback address, is refused.
	other := bearertest.NewIssuer(t)
	ocfg, err := setup.Parse("nethttp", []string{"--issuer", other.URL, "--audience", "orders", "--startup-timeout", "0", "--issuer-ca", s.CAFile},
		func(string) string { return "" }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := ocfg.HTTPClient(nil).Get(other.JWKSURL()); err == nil {
		resp.Body.Close()
		t.Error("--issuer-ca of one issuer let the client trust another issuer's certificate")
	}

	// validate takes --issuer-ca too (run with no test client, as the
	// command runs).
	var vout, verr bytes.Buffer
	if code := run(t.Context(), []string{"validate", "--issuer", s.Issuer, "--audience", "orders", "--issuer-ca", s.CAFile, s.Token},
		nil, &vout, &verr, nil); code != exitValid || !strings.Contains(vout.String(), "VALID") {
		t.Errorf("validate --issuer-ca: %d\n%s%s", code, vout.String(), verr.String())
	}
	vout.Reset()
	if code := run(t.Context(), []string{"validate", "--issuer", s.Issuer, "--audience", "orders", "--timeout", "2s", s.Token},
		nil, &vout, &verr, nil); code == exitValid {
		t.Errorf("validate without --issuer-ca reached the keys:\n%s", vout.String())
	}
	verr.Reset()
	if code := run(t.Context(), []string{"validate", "--issuer", s.Issuer, "--audience", "orders", "--issuer-ca", os.DevNull, s.Token},
		nil, &vout, &verr, nil); code != exitUsage || !strings.Contains(verr.String(), "--issuer-ca") {
		t.Errorf("validate --issuer-ca with no certificate: %d %q", code, verr.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after interrupt", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dev-issuer did not stop")
	}
	if _, err := os.Stat(filepath.Dir(s.CAFile)); !os.IsNotExist(err) {
		t.Errorf("the certificate's temporary directory is left: %v", err)
	}
}

func TestDevIssuerUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "for development"},
		{[]string{"--scope", "a\"b"}, 2, "--scope"},
		{[]string{"--ttl", "-1s"}, 2, "--ttl"},
		{[]string{"--audience", ""}, 2, "must not be empty"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--ca-file", filepath.Join(t.TempDir(), "missing", "ca.pem")}, 1, "no such file"},
	} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // a command that starts stops at once
		if code := devIssuer(ctx, c.args, &out, &errOut, nil); code != c.code || !strings.Contains(errOut.String()+out.String(), c.want) {
			t.Errorf("dev-issuer %q = %d, %q; want %d mentioning %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
}
