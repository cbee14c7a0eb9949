package introspect_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bearerguard/bearerguard/bearertest"
	"github.com/bearerguard/bearerguard/introspect"
)

// Discover with TLSClientAuth posts to the server's mTLS alias of the
// introspection endpoint (RFC 8705 §5): a server may ask for certificates
// there only.
func TestTLSClientAuthUsesMTLSAlias(t *testing.T) {
	ca, err := bearertest.NewClientCA()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hits := map[string]bool{}
	mtls := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits["mtls"] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"active":true,"aud":"orders","token_type":"Bearer"}`)
	}))
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	mtls.StartTLS()
	t.Cleanup(mtls.Close)
	var plain *httptest.Server
	plain = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"introspection_endpoint":%q,"mtls_endpoint_aliases":{"introspection_endpoint":%q}}`,
				plain.URL, plain.URL+"/introspect", mtls.URL+"/introspect")
		default:
			mu.Lock()
			hits["plain"] = true
			hits["plain-cert"] = len(r.TLS.PeerCertificates) > 0
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
		}
	}))
	t.Cleanup(plain.Close)
	cert, _ := ca.MustIssue(t, "orders-api")
	tr := plain.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	c, err := introspect.Discover(plain.URL, introspect.TLSClientAuth("orders-api"), introspect.WithHTTPClient(&http.Client{Transport: tr}), introspect.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, err = c.Introspect(t.Context(), "opaque-1")
	mu.Lock()
	defer mu.Unlock()
	if err != nil || !hits["mtls"] || hits["plain"] {
		t.Errorf("Introspect = %v; endpoints asked: %v, want the mTLS alias only", err, hits)
	}
}

// A server that writes mtls_endpoint_aliases in another shape spoils
// discovery only for the clients that read it (TLSClientAuth), never for
// the others.
func TestMTLSAliasesOfAnotherShape(t *testing.T) {
	for _, aliases := range []string{`"https://mtls.example/introspect"`, `null`, `[]`, `{"introspection_endpoint":7}`} {
		var srv *httptest.Server
		srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasPrefix(r.URL.Path, "/.well-known/") {
				fmt.Fprintf(w, `{"issuer":%q,"introspection_endpoint":%q,"mtls_endpoint_aliases":%s}`, srv.URL, srv.URL+"/introspect", aliases)
				return
			}
			fmt.Fprint(w, `{"active":true,"aud":"orders","token_type":"Bearer"}`)
		}))
		c, err := introspect.Discover(srv.URL, introspect.ClientSecretBasic(rsID, rsSecret), introspect.WithHTTPClient(srv.Client()), introspect.WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Introspect(t.Context(), "opaque-1"); err != nil {
			t.Errorf("mtls_endpoint_aliases %s: a client_secret_basic client failed: %v", aliases, err)
		}
		c.Close()
		srv.Close()
	}
}
