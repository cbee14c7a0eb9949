package httpbearer

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/bearerguard/bearerguard/validator"
)

// fail answers a refused request from the single mapping table
// ([validator.ChallengeFor], shaped by the validator's DPoP policy when it
// has one): status, WWW-Authenticate (or Retry-After), DPoP-Nonce when a
// nonce is asked for, Cache-Control: no-store, and the error body.
func (g *Guard) fail(w http.ResponseWriter, r *http.Request, err error, scheme validator.Scheme) {
	var prebuilt *validator.Challenge
	if e, ok := err.(*validator.Error); ok {
		prebuilt = g.answers[answerKey{e, scheme}]
	}
	var c validator.Challenge
	if prebuilt != nil {
		c = *prebuilt // a reason that carries nothing of the request: built once, in New
	} else {
		c = g.challenge(err, scheme)
	}
	c.Apply(w.Header())
	if g.observe != nil {
		g.observe(r, err, c)
	}
	g.writeBody(w, r, c)
}

// challenge is the answer to err for a request of the given scheme.
func (g *Guard) challenge(err error, scheme validator.Scheme) validator.Challenge {
	var c validator.Challenge
	if g.ch != nil {
		c = g.ch.Challenge(err, g.realm, scheme)
	} else {
		c = validator.ChallengeFor(err, g.realm)
	}
	return c.WithResourceMetadata(g.metadata)
}

// errorBody is the default JSON body of a refusal.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

// WriteJSONError writes c's status and a JSON body
// {"error": …, "error_description": …}. It is the default body writer.
func WriteJSONError(w http.ResponseWriter, _ *http.Request, c validator.Challenge) {
	body := errorBody{Error: c.Code, Description: c.Description, Scope: c.Scope}
	switch {
	case body.Error != "":
	case c.Status == http.StatusUnauthorized:
		body.Error = "unauthorized"
		body.Description = "An access token is required"
	case c.Status == http.StatusServiceUnavailable:
		body.Error = "temporarily_unavailable"
	default:
		body.Error = strings.ToLower(strings.ReplaceAll(http.StatusText(c.Status), " ", "_"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(c.Status)
	_, _ = w.Write(body.appendJSON(make([]byte, 0, 128)))
}

// appendJSON appends what encoding/json's Encoder writes for b (a newline
// after it), building it by hand when every string is plain printable
// ASCII, as the library's own codes and descriptions are: a refusal is
// what a flood of unauthenticated requests costs, and the encoder's
// reflection is most of a body's cost.
func (b errorBody) appendJSON(dst []byte) []byte {
	if !plainJSON(b.Error) || !plainJSON(b.Description) || !plainJSON(b.Scope) {
		out, _ := json.Marshal(b) // cannot fail: three strings
		return append(append(dst, out...), '\n')
	}
	dst = append(append(append(dst, `{"error":"`...), b.Error...), '"')
	if b.Description != "" {
		dst = append(append(append(dst, `,"error_description":"`...), b.Description...), '"')
	}
	if b.Scope != "" {
		dst = append(append(append(dst, `,"scope":"`...), b.Scope...), '"')
	}
	return append(dst, "}\n"...)
}

// plainJSON reports whether encoding/json writes s between quotes as it
// is: printable ASCII without the characters it escapes (its HTML escaping
// included).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
