package introspect_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
)

// An authorization server that authenticates resource servers by their
// certificate (RFC 8705 §2.1, tls_client_auth): the client id in the form,
// no secret anywhere, and a certificate whose subject is the client's.
func TestTLSClientAuth(t *testing.T) {
	ca, err := bearertest.NewClientCA()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		certs := r.TLS.PeerCertificates
		id := r.PostForm.Get("client_id")
		if len(certs) == 0 || id != certs[0].Subject.CommonName || r.PostForm.Has("client_secret") ||
			r.Header.Get("Authorization") != "" || r.PostForm.Has("client_assertion") {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"active":true,"client_id":"svc","aud":"orders","sub":%q}`, id)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	withCert := func(cn string) *http.Client {
		cert, _ := ca.MustIssue(t, cn)
		hc := srv.Client()
		tr := hc.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
		return &http.Client{Transport: tr}
	}

	c, err := introspect.New(srv.URL, introspect.TLSClientAuth("orders-api"), introspect.WithHTTPClient(withCert("orders-api")), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tok, err := c.Introspect(t.Context(), "opaque-1")
	if err != nil || tok == nil || tok.Subject != "orders-api" {
		t.Fatalf("Introspect = %+v, %v; want active, sub orders-api", tok, err)
	}

	// Another certificate than the client id's: the server refuses it,
	// and the API answers unavailable, never a verdict on the token.
	other, err := introspect.New(srv.URL, introspect.TLSClientAuth("orders-api"), introspect.WithHTTPClient(withCert("someone-else")), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if _, err := other.Introspect(t.Context(), "opaque-1"); err == nil {
		t.Error("a certificate of another client was accepted")
	}

	for _, tc := range []struct {
		name string
		opts []introspect.Option
		id   string
		want string
	}{
		{"no HTTP client", nil, "orders-api", "WithHTTPClient"},
		{"a client without a certificate", []introspect.Option{introspect.WithHTTPClient(srv.Client())}, "orders-api", "WithHTTPClient"},
		{"no client id", []introspect.Option{introspect.WithHTTPClient(withCert("orders-api"))}, "", "client id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := introspect.New(srv.URL, introspect.TLSClientAuth(tc.id), tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if s := fmt.Sprintf("%v", introspect.TLSClientAuth("orders-api")); s != `introspect.TLSClientAuth("orders-api")` {
		t.Errorf("printed %q", s)
	}
}
