package httpbearer_test

import (
	"crypto/x509/pkix"
	"net/http"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
	"github.com/bearerguard/bearerguard/bearertest"
)

// A certificate-bound token stolen from its owner must not be usable by an
// attacker who connects with a certificate of their own through the
// trusted TLS-terminating proxy (SECURITY.md guarantee 12). Envoy writes
// the URI and DNS SANs of the peer certificate unquoted, so a certificate
// whose SAN holds ",Cert=<someone else's escaped PEM>" makes the XFCC
// value end with an element the proxy never wrote (or, with ";Cert=", a
// second Cert). The Guard once split on every ',' (quoted or not) and read
// the last piece's first Cert: the victim's certificate. It now refuses a
// value that is not one element with one Cert. The victim's certificate is public (it is
// sent in every handshake); with self-signed client certificates (RFC 8705
// §2.2) or a CA that allows free-form URI SANs, anyone can get one with
// such a SAN.
func TestXFCCPlantedCertificate(t *testing.T) {
	v, mint := rtValidator(t)
	victim := rtCert(t, pkix.Name{CommonName: "billing"}, []string{"spiffe://example.org/billing"}, nil)
	stolen := mint(map[string]any{"cnf": map[string]any{"x5t#S256": rtX5T(victim)}})

	for _, tt := range []struct {
		name string
		uris []string
		dns  []string
	}{
		{"URI SAN", []string{"https://attacker.example/x,Cert=" + bearertest.EscapedPEM(victim)}, nil},
		{"DNS SAN", nil, []string{"attacker.example,Cert=" + bearertest.EscapedPEM(victim)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			attacker := rtCert(t, pkix.Name{CommonName: "attacker"}, tt.uris, tt.dns)
			// What the proxy (127.0.0.1, trusted) forwards for the
			// attacker's TLS connection, in SANITIZE_SET mode: one element,
			// the attacker's own certificate.
			xfcc := envoyXFCC(attacker, "CN=attacker")
			g, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-Forwarded-Client-Cert", httpbearer.XFCC, "127.0.0.1", "::1"))
			if err != nil {
				t.Fatal(err)
			}
			srv := rtServe(t, g)
			status, _ := rtDo(t, srv, "GET", "/data", http.Header{"Authorization": {"Bearer " + stolen}, "X-Forwarded-Client-Cert": {xfcc}})
			if status == 200 {
				t.Fatalf("a token bound to the victim's certificate was accepted for a client whose certificate is the attacker's (XFCC %.120q…)", xfcc)
			}
		})
	}
}

// A legitimate client whose certificate subject has more than one RDN (as
// nearly every CA-issued certificate does: "CN=billing,O=Example") is
// refused when the proxy forwards the Subject: the ',' inside the quoted
// Subject is taken as an element separator. (Availability, not a bypass.)
func TestXFCCQuotedSubject(t *testing.T) {
	v, mint := rtValidator(t)
	client := rtCert(t, pkix.Name{CommonName: "billing", Organization: []string{"Example"}}, nil, nil)
	tok := mint(map[string]any{"cnf": map[string]any{"x5t#S256": rtX5T(client)}})
	g, err := httpbearer.New(v, httpbearer.WithClientCertHeader("X-Forwarded-Client-Cert", httpbearer.XFCC, "127.0.0.1", "::1"))
	if err != nil {
		t.Fatal(err)
	}
	srv := rtServe(t, g)
	xfcc := envoyXFCC(client, "CN=billing,O=Example")
	if status, _ := rtDo(t, srv, "GET", "/data", http.Header{"Authorization": {"Bearer " + tok}, "X-Forwarded-Client-Cert": {xfcc}}); status != 200 {
		t.Fatalf("the client's own certificate, forwarded with its Subject: %d, want 200", status)
	}
}
