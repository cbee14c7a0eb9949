package httpbearer

import (
	"mime"
	"net/http"
	"strings"

	"github.com/bearerguard/bearerguard/adapters/internal/authheader"
	"github.com/bearerguard/bearerguard/internal/paramname"
	"github.com/bearerguard/bearerguard/validator"
)

// maxFormBody bounds the form body read when form tokens are enabled.
const maxFormBody = 64 << 10

// extractor finds the token of a request, per RFC 6750 §2.
type extractor struct {
	query  bool
	form   bool
	cookie string
	// noDPoP: the validator takes no DPoP (DPoPOff, or it checks no
	// presentation), so "Authorization: DPoP" is a scheme like Basic.
	noDPoP bool
}

// extract returns the request's token. It fails with
// [validator.ErrNoToken] when the request carries no Bearer credentials,
// [validator.ErrMalformedHeader] for a broken Authorization header,
// [validator.ErrMalformedCredentials] for a form body that does not parse
// or a token cookie that is not a b64token,
// [validator.ErrMultipleTokens] when several are sent (in different ways,
// or the same way twice, including two cookies of the configured name), and
// [validator.ErrMethodNotAllowed] for a query or form token when that way of
// sending one is not enabled. Query and form parameters are matched by their
// decoded names, as r.URL.Query() and r.PostForm give them.
//
// The scheme is [validator.SchemeDPoP] for "Authorization: DPoP" (when
// the validator takes DPoP; else that header is no credentials of ours),
// and [validator.SchemeBearer] for every other way.
func (e *extractor) extract(w http.ResponseWriter, r *http.Request) (string, validator.Scheme, error) {
	if r.URL == nil {
		return "", 0, validator.ErrInvalidRequest // built by hand; a server's requests always have one
	}
	var token string
	scheme := validator.SchemeBearer
	found := 0
	add := func(t string) {
		token = t
		found++
	}

	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return "", 0, validator.ErrMultipleTokens
	}
	// dpopOff: an "Authorization: DPoP" header when DPoP is off. Alone, it
	// is a scheme this API does not take (no credentials of ours); beside
	// a token sent another way, it is a second token, refused as any
	// other: an upstream or a nested guard could read it.
	dpopOff := false
	if len(headers) == 1 {
		t, isBearer, err := parseAuthorization(headers[0])
		if err != nil {
			return "", 0, err
		}
		if isBearer {
			add(t)
		} else if e.noDPoP {
			_, dpopOff, _ = parseCredentials(headers[0], "dpop") // matched, well formed or not
		} else if t, isDPoP, err := parseCredentials(headers[0], "dpop"); err != nil {
			// The client used the DPoP scheme: its error goes on that
			// scheme's challenge (RFC 9449 §7.1).
			return "", validator.SchemeDPoP, err
		} else if isDPoP {
			add(t)
			scheme = validator.SchemeDPoP
		}
	}

	if hiddenQueryToken(r.URL.RawQuery) {
		// Refused as a query token is, so that every door answers alike
		// and nothing behind the Guard reads a token it never saw.
		return "", 0, validator.ErrMethodNotAllowed
	}
	if !mayNameAccessToken(r.URL.RawQuery) {
		// Most requests: no need to parse the query at all.
	} else if vals, ok := r.URL.Query()["access_token"]; ok {
		// Decoded names, as r.URL.Query() gives them to the handlers: an
		// access%5Ftoken parameter is an access_token parameter.
		if !e.query {
			return "", 0, validator.ErrMethodNotAllowed
		}
		if len(vals) != 1 || !isB64Token(vals[0]) {
			return "", 0, badValues(vals)
		}
		add(vals[0])
		if w != nil {
			// RFC 6750 §2.3: the answer to a URL that carries a token
			// is for this client alone. A refusal replaces it with
			// no-store. A slice of its own: a handler may change it.
			w.Header()["Cache-Control"] = []string{"private"}
		}
	}

	if e.form && r.Body != nil && isFormBody(r) {
		// A request built by hand with no body (http.NewRequest with a
		// nil one) has no form: MaxBytesReader would wrap a nil reader.
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			return "", 0, validator.ErrMalformedCredentials
		}
		if vals, ok := r.PostForm["access_token"]; ok {
			if len(vals) != 1 || !isB64Token(vals[0]) {
				return "", 0, badValues(vals)
			}
			add(vals[0])
		}
	}

	if e.cookie != "" {
		switch cs := r.CookiesNamed(e.cookie); {
		case len(cs) > 1:
			// Which one would the application read? Refuse, as for
			// other tokens sent twice, even if some are empty.
			return "", 0, validator.ErrMultipleTokens
		case len(cs) == 1 && cs[0].Value != "":
			if !isB64Token(cs[0].Value) {
				return "", 0, validator.ErrMalformedCredentials
			}
			add(cs[0].Value)
		}
	}

	switch {
	case found > 0 && dpopOff:
		return "", 0, validator.ErrMultipleTokens
	}
	switch found {
	case 0:
		return "", 0, validator.ErrNoToken
	case 1:
		return token, scheme, nil
	default:
		return "", 0, validator.ErrMultipleTokens
	}
}

// hiddenQueryToken reports whether rawQuery has a parameter that some
// server reads as access_token where net/url (and so the Guard) reads
// another name or none: one in a pair with a ';' (net/url drops such a
// pair; Rails, Rack and other servers split at ';' too), or one whose
// decoded name is access_token to a server that reads names otherwise
// ([paramname.ReadsAs]: PHP, ASP.NET Core, Rack's and qs's arrays). A
// Guard would decide on another token, or none, while such a server
// behind it (an upstream of forward auth, a handler proxying on) read
// this one, which nothing checked. The work is linear in the length.
func hiddenQueryToken(rawQuery string) bool {
	if strings.IndexByte(rawQuery, '%') < 0 && !paramname.ContainsFold(rawQuery, "token") {
		return false
	}
	for p := range paramname.Pairs(rawQuery) {
		if p.Name == "access_token" && !p.Semicolon {
			continue // net/url reads it as the Guard does
		}
		if paramname.ReadsAs(p.Name, "access_token") {
			return true
		}
	}
	return false
}

// mayNameAccessToken reports whether a raw query might hold a parameter
// whose name decodes to access_token, so that only such queries are parsed.
// It looks at each name as net/url.ParseQuery splits them (pairs at '&', the
// name before the first '='): the name must be access_token itself, or be
// 14 to 36 bytes long with a '%' in it, since each %XX escape stands for
// one of the 12 bytes. '+' decodes to a space, which access_token lacks.
// It never allocates. A false positive only costs a parse.
func mayNameAccessToken(rawQuery string) bool {
	const name = "access_token"
	if !strings.Contains(rawQuery, name) && strings.IndexByte(rawQuery, '%') < 0 {
		return false
	}
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, _, _ := strings.Cut(pair, "=")
		if key == name || len(key) >= len(name)+2 && len(key) <= 3*len(name) && strings.IndexByte(key, '%') >= 0 {
			return true
		}
	}
	return false
}

// parseAuthorization parses an Authorization header value. A scheme other
// than Bearer is no Bearer credential at all (isBearer false, no error):
// RFC 6750 §3.1 answers it with a bare challenge. For Bearer it enforces
// the grammar of §2.1: the scheme (any case), 1*SP, one b64token, nothing
// after it.
func parseAuthorization(v string) (token string, isBearer bool, err error) {
	return authheader.Parse(v, "bearer")
}

// parseCredentials parses an Authorization header value of the given
// scheme (lower case; matched in any case) whose credentials are one
// b64token: Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1). matched is false
// for another scheme. The grammar is shared with the gRPC adapter
// (adapters/internal/authheader).
func parseCredentials(v, scheme string) (token string, matched bool, err error) {
	return authheader.Parse(v, scheme)
}

// isB64Token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool { return authheader.IsB64Token(s) }

// isFormBody: RFC 6750 §2.2: an entity-body of type
// application/x-www-form-urlencoded, in a method that has a body.
func isFormBody(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// badValues is the error for an access_token parameter that is repeated
// or not a b64token.
func badValues(vals []string) error {
	if len(vals) > 1 {
		return validator.ErrMultipleTokens
	}
	return validator.ErrInvalidRequest
}
