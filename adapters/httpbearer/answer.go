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
	var c validator.Challenge
	if g.ch != nil {
		c = g.ch.Challenge(err, g.realm, scheme)
	} else {
		c = validator.ChallengeFor(err, g.realm)
	}
	c = c.WithResourceMetadata(g.metadata)
	c.Apply(w.Header())
	if g.observe != nil {
		g.observe(r, err, c)
	}
	g.writeBody(w, r, c)
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
	_ = json.NewEncoder(w).Encode(body)
}
