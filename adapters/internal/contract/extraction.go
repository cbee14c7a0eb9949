package contract

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/bearerguard/bearerguard/adapters/httpbearer"
)

// extractionCases checks, through a real server, that the adapter's guard
// finds tokens by the names the application sees: query and form
// parameters by their decoded names (access%5Ftoken is access_token, as
// r.URL.Query() has it), and every cookie of the configured name. A token
// sent in a second way the guard did not look at would be authenticated
// one way while the handler reads another.
func extractionCases(t *testing.T, build Build) {
	f := newFixture(t)
	read := f.token(t, "read:data")
	write := f.token(t, "write:data")
	other := f.token(t, "admin")
	invalidRequest := func(desc string) string {
		return `Bearer realm="orders", error="invalid_request", error_description="` + desc + `"`
	}
	sentTwice := invalidRequest("The access token was sent more than once")
	notEnabled := invalidRequest("The access token must be sent in the Authorization header")
	form := "application/x-www-form-urlencoded"

	plain := serve(t, build, guard(t, f.v))
	withQuery := serve(t, build, guard(t, f.v, httpbearer.WithQueryToken()))
	withForm := serve(t, build, guard(t, f.v, httpbearer.WithFormToken()))
	withCookie := serve(t, build, guard(t, f.v, httpbearer.WithCookie("at")))

	tests := []struct {
		name      string
		srv       *httptest.Server
		method    string
		path      string
		header    http.Header
		body      string
		status    int
		challenge string
		subject   string
	}{
		{"benign query with header token", plain, "GET", "/data?page=2&q=%20x", auth("Bearer " + read), "", 200, "", "svc-read-data"},
		// Another parameter to net/url, but the token to ASP.NET Core,
		// which reads names in any case: refused, as a token in the
		// query is, so that nothing behind the Guard reads a token it
		// never saw (SECURITY.md 143).
		{"uppercase name", withQuery, "GET", "/data?ACCESS_TOKEN=" + url.QueryEscape(other), auth("Bearer " + read), "", 400, notEnabled, ""},
		{"encoded query name alone, not enabled", plain, "GET", "/data?access%5Ftoken=" + url.QueryEscape(read), nil, "", 400, notEnabled, ""},
		{"encoded query name and header, not enabled", plain, "GET", "/data?access%5Ftoken=" + url.QueryEscape(other), auth("Bearer " + read), "", 400, notEnabled, ""},
		{"encoded first letter and header, not enabled", plain, "GET", "/data?%61ccess_token=" + url.QueryEscape(other), auth("Bearer " + read), "", 400, notEnabled, ""},
		{"encoded query name and header", withQuery, "GET", "/data?access%5Ftoken=" + url.QueryEscape(other), auth("Bearer " + read), "", 400, sentTwice, ""},
		{"encoded query name when enabled", withQuery, "GET", "/data?access%5Ftoken=" + url.QueryEscape(read), nil, "", 200, "", "svc-read-data"},
		{"encoded form name and header", withForm, "POST", "/data", http.Header{"Content-Type": {form}, "Authorization": {"Bearer " + write}}, "access%5Ftoken=" + url.QueryEscape(other), 400, sentTwice, ""},
		{"encoded form name when enabled", withForm, "POST", "/data", http.Header{"Content-Type": {form}}, "access%5Ftoken=" + url.QueryEscape(write), 200, "", "svc-write-data"},
		{"two cookies in one header", withCookie, "GET", "/data", http.Header{"Cookie": {"at=" + read + "; at=" + other}}, "", 400, sentTwice, ""},
		{"two cookie headers", withCookie, "GET", "/data", http.Header{"Cookie": {"at=" + read, "at=" + other}}, "", 400, sentTwice, ""},
		{"empty cookie and another", withCookie, "GET", "/data", http.Header{"Cookie": {"at=; at=" + read}}, "", 400, sentTwice, ""},
		{"one cookie among others", withCookie, "GET", "/data", http.Header{"Cookie": {"x=1; at=" + read + "; y=2"}}, "", 200, "", "svc-read-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.srv, tt.method, tt.path, tt.header, tt.body)
			check(t, r, tt.status, tt.challenge, tt.subject, false)
		})
	}
}
