package forwardauth

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The names the identity-spelling check compares with stay bounded
// however many route files name new identity headers: at most the
// retired names' bound, and the internal token's header.
func TestFoldedNamesBounded(t *testing.T) {
	d := &Decider{tokenHeader: DefaultInternalTokenHeader}
	for i := range 300 {
		rules, err := ParseRules(fmt.Appendf(nil, "identity:\n  subject: X-Subject-%d\n  claims:\n    X-Tenant-%d: tenant\n", i, i))
		if err != nil {
			t.Fatal(err)
		}
		d.retire(rules)
	}
	if n := len(*d.foldedNames.Load()); n > maxRetired+1 {
		t.Errorf("%d folded names after 300 route files, want at most %d", n, maxRetired+1)
	}
	if n := d.spelledOtherwise([]string{"X_Subject_299"}); n != "X-Subject-299" {
		t.Errorf("the newest name spelt with '_': %q, want X-Subject-299", n)
	}
}

// What a request names for the upstream costs work linear in its
// headers and query, whatever their shape: 16 times the bytes take far
// less than the 256 times a quadratic reading would (the fastest of five
// runs each, so that a busy machine does not decide; the margin is a
// complexity class, not a speed).
func TestOverrideReadingsLinear(t *testing.T) {
	shapes := map[string]func(n int) (http.Header, string){
		"host= runs":  func(n int) (http.Header, string) { return http.Header{"Forwarded": {strings.Repeat("host=", n)}}, "" },
		"quoted runs": func(n int) (http.Header, string) { return http.Header{"Forwarded": {strings.Repeat(`host="`, n)}}, "" },
		"for= quoting host=": func(n int) (http.Header, string) {
			return http.Header{"Forwarded": {strings.Repeat(`for="host=`, n)}}, ""
		},
		"own host repeated": func(n int) (http.Header, string) {
			return http.Header{"Forwarded": {strings.Repeat("host=api.example.com;", n)}}, ""
		},
		"quotes before a =": func(n int) (http.Header, string) {
			return http.Header{"Forwarded": {strings.Repeat(`"`, 4*n) + "host=a"}}, ""
		},
		"X-Forwarded-Host": func(n int) (http.Header, string) {
			return http.Header{"X-Forwarded-Host": {strings.Repeat("api.example.com,", n)}}, ""
		},
		"override elements": func(n int) (http.Header, string) {
			return http.Header{"X-Http-Method-Override": {strings.Repeat("GET,", n)}}, ""
		},
		"_method in the query": func(n int) (http.Header, string) { return nil, strings.Repeat("_method=GET&", n) },
		"odd header names": func(n int) (http.Header, string) {
			h := http.Header{}
			for i := range n / 8 {
				h[fmt.Sprintf("X_Odd_%d", i)] = []string{"x"}
			}
			return h, ""
		},
	}
	d := &Decider{tokenHeader: DefaultInternalTokenHeader}
	rules, err := ParseRules([]byte("routes:\n  - path: /orders/{id}\n    scopes: [a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d.retire(rules)
	read := func(h http.Header, q string) {
		sc := scanHeaders(h)
		d.spelledOtherwise(sc.odd)
		_, _ = overrides(sc.methods, q, "GET")
		_, _ = forwardedHosts(sc.hosts, sc.forwards, "api.example.com", nil)
	}
	fastest := func(n int, shape func(int) (http.Header, string)) time.Duration {
		h, q := shape(n)
		best := time.Duration(1<<63 - 1)
		for range 5 {
			start := time.Now()
			read(h, q)
			best = min(best, time.Since(start))
		}
		return max(best, time.Microsecond)
	}
	for name, shape := range shapes {
		small, large := fastest(4000, shape), fastest(64000, shape)
		if ratio := float64(large) / float64(small); ratio > 100 {
			t.Errorf("%s: 16 times the input took %.0f times as long (%v, %v): not linear", name, ratio, small, large)
		}
	}
}
