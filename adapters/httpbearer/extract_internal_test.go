package httpbearer

import (
	"cmp"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bearerguard/bearerguard/validator"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in       string
		token    string
		isBearer bool
		err      error
	}{
		{"Bearer abc", "abc", true, nil},
		{"bearer abc", "abc", true, nil},
		{"bEaReR  abc.def-ghi_jkl~mno+pqr/stu==", "abc.def-ghi_jkl~mno+pqr/stu==", true, nil},
		{"Bearer", "", true, validator.ErrMalformedHeader},
		{"Bearer ", "", true, validator.ErrMalformedHeader},
		{"Bearer\tabc", "", true, validator.ErrMalformedHeader},
		{"Bearer abc def", "", true, validator.ErrMalformedHeader},
		{"Bearer abc=def", "", true, validator.ErrMalformedHeader},
		{"Bearer =abc", "", true, validator.ErrMalformedHeader},
		{"Bearer a\"b", "", true, validator.ErrMalformedHeader},
		{"Bearer é", "", true, validator.ErrMalformedHeader},
		{"Basic abc", "", false, nil},
		{"BearerToken abc", "", false, nil},
		{"Bear abc", "", false, nil},
		{"", "", false, nil},
	}
	for _, tt := range tests {
		tok, isBearer, err := parseAuthorization(tt.in)
		if tok != tt.token || isBearer != tt.isBearer || !errors.Is(err, tt.err) {
			t.Errorf("parseAuthorization(%q) = %q, %v, %v; want %q, %v, %v", tt.in, tok, isBearer, err, tt.token, tt.isBearer, tt.err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Bearer", "Basic x", "Bearer a b", "Bearer\x00", "BEARER =="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, isBearer, err := parseAuthorization(v)
		if err != nil {
			if !isBearer || !errors.Is(err, validator.ErrInvalidRequest) || tok != "" {
				t.Fatalf("parseAuthorization(%q) = %q, %v, %v", v, tok, isBearer, err)
			}
			return
		}
		if !isBearer {
			if tok != "" {
				t.Fatalf("non-Bearer %q yielded token %q", v, tok)
			}
			return
		}
		// Spaces and tabs around the whole value are not part of it (RFC
		// 9110 §5.5): what is left is "Bearer", one or more spaces, tok.
		w := strings.Trim(v, " \t")
		if !isB64Token(tok) || !strings.HasSuffix(w, " "+tok) || !strings.EqualFold(strings.TrimRight(strings.TrimSuffix(w, tok), " "), "bearer") {
			t.Fatalf("parseAuthorization(%q) accepted token %q", v, tok)
		}
	})
}

// TestExtract runs the extractor on requests that send a token, or
// something that looks like one, in every way RFC 6750 allows. Query and
// form parameter names count as their decoded forms, as r.URL.Query() and
// r.PostForm have them, since that is what the handlers downstream see.
func TestExtract(t *testing.T) {
	const hdr = "Bearer hdr"
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name    string
		ex      extractor
		method  string // GET if empty
		target  string
		header  http.Header
		body    string
		want    string
		wantErr error
	}{
		{name: "header only", target: "/", header: auth(hdr), want: "hdr"},
		{name: "nothing", target: "/", wantErr: validator.ErrNoToken},
		{name: "benign query", target: "/?page=2&q=%20x", header: auth(hdr), want: "hdr"},
		{name: "benign query, no option", ex: extractor{}, target: "/?page=2&q=%20x&sort=a+b", header: auth(hdr), want: "hdr"},
		{name: "name in a value", target: "/?q=access_token&r=access%5Ftoken", header: auth(hdr), want: "hdr"},

		// The same parameter name, however it is encoded.
		{name: "query and header", ex: extractor{query: true}, target: "/?access_token=q", header: auth(hdr), wantErr: validator.ErrMultipleTokens},
		{name: "encoded underscore and header", ex: extractor{query: true}, target: "/?access%5Ftoken=q", header: auth(hdr), wantErr: validator.ErrMultipleTokens},
		{name: "lowercase escape and header", ex: extractor{query: true}, target: "/?access%5ftoken=q", header: auth(hdr), wantErr: validator.ErrMultipleTokens},
		{name: "encoded first letter and header", ex: extractor{query: true}, target: "/?%61ccess_token=q", header: auth(hdr), wantErr: validator.ErrMultipleTokens},
		{name: "every letter encoded and header", ex: extractor{query: true}, target: "/?%61%63%63%65%73%73%5F%74%6F%6B%65%6E=q", header: auth(hdr), wantErr: validator.ErrMultipleTokens},
		{name: "encoded name alone", ex: extractor{query: true}, target: "/?access%5Ftoken=q", want: "q"},
		{name: "plain and encoded names", ex: extractor{query: true}, target: "/?access_token=a&access%5Ftoken=b", wantErr: validator.ErrMultipleTokens},
		{name: "encoded name, no option", target: "/?access%5Ftoken=q", wantErr: validator.ErrMethodNotAllowed},
		{name: "encoded name and header, no option", target: "/?x=1&%61ccess_token=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "encoded name without value, no option", target: "/?access%5Ftoken", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},

		// Other names: not the access_token parameter.
		// Names other servers read as access_token (ASP.NET Core in any
		// case; PHP after a NUL, leading spaces, as an array; Rack and qs
		// as an array), net/url not: refused (SECURITY.md 143).
		{name: "uppercase name", ex: extractor{query: true}, target: "/?ACCESS_TOKEN=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "uppercase name, no option", target: "/?ACCESS_TOKEN=q", wantErr: validator.ErrMethodNotAllowed},
		{name: "encoded uppercase name", ex: extractor{query: true}, target: "/?ACCESS%5FTOKEN=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "mixed case", target: "/?Access_Token=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "a NUL after the name", target: "/?access_token%00x=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "a leading space", target: "/?+access_token=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "an array", target: "/?access_token[]=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "an indexed array", target: "/?access_token%5B0%5D=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "a nested name", target: "/?a[access_token]=q", header: auth(hdr), want: "hdr"},
		{name: "another word", target: "/?tokens=1&TOKEN=2&access=3", header: auth(hdr), want: "hdr"},
		// A name PHP reads as access_token ('+' is a space, and a space, a
		// '.' or a '[' is '_' to it), net/url not: refused, as a token in
		// the query is, so that nothing behind the Guard reads a token it
		// never saw (SECURITY.md 143).
		{name: "plus is a space, which PHP reads as _", ex: extractor{query: true}, target: "/?access+token=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "a dot PHP reads as _", target: "/?access.token=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "a bracket PHP reads as _", target: "/?access%5Btoken=q", wantErr: validator.ErrMethodNotAllowed},
		{name: "a word in a value", target: "/?note=access.token", header: auth(hdr), want: "hdr"},
		{name: "encoded equals sign", target: "/?access_token%3Dq", header: auth(hdr), want: "hdr"},
		{name: "longer name", target: "/?access%5Ftokens=q&my_access_token=r", header: auth(hdr), want: "hdr"},
		// Pairs net/url drops: a bad escape is dropped by other servers too;
		// a ';' is a separator to Rails and Rack, so a token after it is
		// refused as a token in the query is (SECURITY.md 143).
		{name: "bad escape in value", target: "/?access%5Ftoken=%zz", header: auth(hdr), want: "hdr"},
		{name: "semicolon", target: "/?x=1;access%5Ftoken=q", header: auth(hdr), wantErr: validator.ErrMethodNotAllowed},
		{name: "semicolon, query tokens on", ex: extractor{query: true}, target: "/?access_token=q;x=1", wantErr: validator.ErrMethodNotAllowed},
		{name: "semicolon in another parameter", target: "/?q=a;b", header: auth(hdr), want: "hdr"},

		// Form bodies: decoded names too.
		{name: "form encoded name", ex: extractor{form: true}, method: "POST", target: "/", header: http.Header{"Content-Type": {form}}, body: "access%5Ftoken=f", want: "f"},
		{name: "form encoded name and header", ex: extractor{form: true}, method: "POST", target: "/", header: http.Header{"Content-Type": {form}, "Authorization": {hdr}}, body: "x=1&%61ccess_token=f", wantErr: validator.ErrMultipleTokens},
		{name: "form body that does not parse", ex: extractor{form: true}, method: "POST", target: "/", header: http.Header{"Content-Type": {form}, "Authorization": {hdr}}, body: "comment=100%", wantErr: validator.ErrMalformedCredentials},
		{name: "form plain and encoded names", ex: extractor{form: true}, method: "POST", target: "/", header: http.Header{"Content-Type": {form}}, body: "access_token=a&access%5Ftoken=b", wantErr: validator.ErrMultipleTokens},
		{name: "form uppercase name", ex: extractor{form: true}, method: "POST", target: "/", header: http.Header{"Content-Type": {form}, "Authorization": {hdr}}, body: "ACCESS_TOKEN=f", want: "hdr"},

		// Cookies.
		{name: "cookie", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=c"}}, want: "c"},
		{name: "cookie among others", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"x=1; at=c; y=2"}}, want: "c"},
		{name: "two cookies in one header", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=a; at=b"}}, wantErr: validator.ErrMultipleTokens},
		{name: "two cookie headers", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=a", "at=b"}}, wantErr: validator.ErrMultipleTokens},
		{name: "same cookie twice", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=a; at=a"}}, wantErr: validator.ErrMultipleTokens},
		{name: "empty cookie and another", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=; at=b"}}, wantErr: validator.ErrMultipleTokens},
		{name: "empty cookie alone", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at="}}, wantErr: validator.ErrNoToken},
		{name: "empty cookie and header", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at="}, "Authorization": {hdr}}, want: "hdr"},
		{name: "cookie names are case-sensitive", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"AT=a; at=b"}}, want: "b"},
		{name: "cookie and header", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=c"}, "Authorization": {hdr}}, wantErr: validator.ErrMultipleTokens},
		{name: "bad cookie value", ex: extractor{cookie: "at"}, target: "/", header: http.Header{"Cookie": {"at=a$b"}}, wantErr: validator.ErrMalformedCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := cmp.Or(tt.method, http.MethodGet)
			r := httptest.NewRequest(method, tt.target, strings.NewReader(tt.body))
			maps.Copy(r.Header, tt.header)
			got, _, err := tt.ex.extract(httptest.NewRecorder(), r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != "" {
					t.Fatalf("extract = %q, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("extract = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func auth(v string) http.Header { return http.Header{"Authorization": {v}} }

// BenchmarkExtract measures finding a header token, with and without a
// query. Requests without an access_token parameter, however encoded, must
// not pay for parsing their query.
func BenchmarkExtract(b *testing.B) {
	for _, c := range []struct{ name, target string }{
		{"no query", "/data"},
		{"plain query", "/data?page=2&sort=name"},
		{"escaped query", "/data?page=2&q=%20x"},
		{"encoded name", "/data?access%5Ftoken=x"}, // parsed, then refused
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var ex extractor
			r := httptest.NewRequest("GET", c.target, nil)
			r.Header.Set("Authorization", "Bearer abc.def.ghi")
			w := httptest.NewRecorder()
			for b.Loop() {
				_, _, _ = ex.extract(w, r)
			}
		})
	}
}

// TestMayNameAccessToken checks the query pre-filter: true for every name
// that decodes to access_token, false for common queries, which are then
// not parsed at all.
func TestMayNameAccessToken(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{"", false},
		{"page=2&sort=name", false},
		{"page=2&q=%20x", false},
		{"q=caf%C3%A9&lang=fr&redirect=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc", false},
		{"q=access_token", false},
		{"ACCESS_TOKEN=x", false},
		{"access+token=x", false},
		{"%41=1&%42%43=2", false},
		{"access_token=x", true},
		{"a=1&access_token", true},
		{"access%5Ftoken=x", true},
		{"%61%63%63%65%73%73%5F%74%6F%6B%65%6E=x", true},
		{"x=%20&%61ccess_token=", true},
		{"ACCESS%5FTOKEN=x", true}, // parsed, then not a match
	}
	for _, tt := range tests {
		if got := mayNameAccessToken(tt.q); got != tt.want {
			t.Errorf("mayNameAccessToken(%q) = %v, want %v", tt.q, got, tt.want)
		}
		vals, _ := url.ParseQuery(tt.q)
		if _, ok := vals["access_token"]; ok && !tt.want {
			t.Errorf("test case %q names access_token", tt.q)
		}
	}
}

// FuzzMayNameAccessToken checks that the query pre-filter never misses a
// parameter that net/url (r.URL.Query(), what handlers read) names
// access_token, and that hiddenQueryToken never panics and sees every
// name net/url reads as access_token in another case.
func FuzzMayNameAccessToken(f *testing.F) {
	for _, s := range []string{"", "page=2", "q=%20x", "access_token=x", "access%5Ftoken=x", "%61ccess_token",
		"%61%63%63%65%73%73%5F%74%6F%6B%65%6E=x", "a=1&access%5ftoken=&b", "x;access_token=1", "access_token%3D1", "ACCESS%5FTOKEN=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		vals, _ := url.ParseQuery(q)
		if _, ok := vals["access_token"]; ok && !mayNameAccessToken(q) {
			t.Fatalf("mayNameAccessToken(%q) = false, but url.ParseQuery finds access_token", q)
		}
		// A name net/url reads as access_token in another case is one
		// ASP.NET Core reads as the token: always seen.
		for k := range vals {
			if k != "access_token" && strings.EqualFold(k, "access_token") && !hiddenQueryToken(q) {
				t.Fatalf("hiddenQueryToken(%q) = false, but url.ParseQuery finds %q", q, k)
			}
		}
	})
}

// hiddenQueryToken reads a query anyone writes, before any token is
// checked: its work and allocations grow linearly with the query, not
// faster (one decode of each name, nothing kept).
func TestHiddenQueryTokenLinear(t *testing.T) {
	allocs := func(n int) float64 {
		q := strings.Repeat("%61ccess_tokens=1;x=token&", n)
		return testing.AllocsPerRun(20, func() {
			if hiddenQueryToken(q) {
				t.Fatal("no parameter here is access_token")
			}
		})
	}
	small, large := allocs(100), allocs(1600)
	if small == 0 || large > 17*small {
		t.Errorf("allocations: %v for 100 pairs, %v for 1600 (want at most 16 times as many, and some)", small, large)
	}
}
