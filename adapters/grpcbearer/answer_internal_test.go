package grpcbearer

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/validator"
)

// TestStatusOf: every error class of the library's table, carried by gRPC:
// the code, the fixed message, and the trailers. (The loopback tests see
// the same through a real server for every class a call can produce.)
func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err   error
		code  codes.Code
		msg   string
		extra string // a trailer besides www-authenticate
	}{
		{validator.ErrNoToken, codes.Unauthenticated, "No access token was presented", ""},
		{validator.ErrExpired, codes.Unauthenticated, "The access token expired", ""},
		{validator.ErrInvalidToken, codes.Unauthenticated, "The access token is invalid", ""},
		{validator.ErrProofReplayed, codes.Unauthenticated, "The DPoP proof was already used", ""},
		{&validator.NonceError{Nonce: "n-1"}, codes.Unauthenticated, "A DPoP nonce is required", "dpop-nonce"},
		{&validator.StepUpError{ACRValues: []string{"phr"}, MaxAge: time.Minute}, codes.Unauthenticated,
			"A different authentication level is required", ""},
		{&validator.ScopeError{Missing: []string{"read:data"}}, codes.PermissionDenied, "The access token lacks a required scope", ""},
		{validator.ErrMalformedHeader, codes.InvalidArgument, "The Authorization header is malformed", ""},
		{validator.ErrMultipleTokens, codes.InvalidArgument, "The access token was sent more than once", ""},
		{&validator.UnavailableError{Reason: validator.ErrKeysUnavailable, RetryAfter: 3 * time.Second}, codes.Unavailable,
			"The token cannot be checked right now", "retry-after"},
	} {
		ch := validator.ChallengeFor(c.err, "orders")
		if ne, ok := c.err.(*validator.NonceError); ok {
			ch.Nonce = ne.Nonce // as Validator.Challenge sets it
		}
		st := statusOf(ch)
		if st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%v: %v %q, want %v %q", c.err, st.Code(), st.Message(), c.code, c.msg)
		}
		md := trailer(ch)
		if got := md.Get("www-authenticate"); (c.code == codes.Unavailable) != (len(got) == 0) || len(got) == 1 && got[0] != ch.Header {
			t.Errorf("%v: www-authenticate %q", c.err, got)
		}
		for _, k := range []string{"dpop-nonce", "retry-after"} {
			if got := md.Get(k); (k == c.extra) != (len(got) == 1) {
				t.Errorf("%v: %s %q", c.err, k, got)
			}
		}
	}
	if md := trailer(validator.ChallengeFor(&validator.UnavailableError{Reason: validator.ErrKeysUnavailable, RetryAfter: 3 * time.Second}, "")); md.Get("retry-after")[0] != "3" {
		t.Errorf("retry-after %q", md.Get("retry-after"))
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{"The access token expired": "The access token expired", "a%b\n\u00e9": "a%25b%0A%C3%A9", "": ""} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}
