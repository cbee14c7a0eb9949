package validator

import (
	"slices"
	"testing"
)

// An introspected token owns everything it holds: a caller that reuses
// the response buffer afterwards changes neither its fields nor its
// claims (found in review: the claims were copied, the fields still
// pointed into the buffer).
func TestIntrospectionTokenOwnsItsBytes(t *testing.T) {
	body := []byte(`{"active":true,"sub":"alice","client_id":"svc","aud":"https://api.example.com","scope":"read write","iss":"https://issuer.example.com/","exp":4102444800,"cnf":{"jkt":"abc"}}`)
	tok, err := parseIntrospection(body)
	if err != nil || tok == nil {
		t.Fatal(tok, err)
	}
	want := *tok
	want.Audience = slices.Clone(tok.Audience)
	wantClaims := string(tok.RawClaims())
	for i := range body {
		body[i] = 'z'
	}
	if tok.Subject != "alice" || tok.ClientID != "svc" || tok.Issuer != want.Issuer || !slices.Equal(tok.Audience, []string{"https://api.example.com"}) ||
		tok.Scopes.String() != "read write" || tok.Confirmation.JKT != "abc" || string(tok.RawClaims()) != wantClaims {
		t.Errorf("after the buffer was reused: sub %q, client %q, iss %q, aud %q, scopes %q, jkt %q, claims %q",
			tok.Subject, tok.ClientID, tok.Issuer, tok.Audience, tok.Scopes, tok.Confirmation.JKT, tok.RawClaims())
	}
}
