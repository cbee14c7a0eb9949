package grpcbearer

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bearerguard/bearerguard/validator"
)

// refuse answers a refused call from the library's single table
// ([validator.Validator.Challenge], else [validator.ChallengeFor]): it sets
// the trailers and returns the status error.
func (i *Interceptor) refuse(ctx context.Context, fullMethod string, err error, scheme validator.Scheme) error {
	var c validator.Challenge
	if i.ch != nil {
		c = i.ch.Challenge(err, i.realm, scheme)
	} else {
		c = validator.ChallengeFor(err, i.realm)
	}
	if md := trailer(c); len(md) > 0 {
		_ = grpc.SetTrailer(ctx, md) // fails only outside a gRPC server call
	}
	if i.observe != nil {
		observeSafely(i.observe, ctx, fullMethod, err, c)
	}
	return statusOf(c).Err()
}

// observeSafely calls the application's observer, which runs for every
// refused call, a call without a token included: a panic in it must not
// end the process (grpc-go recovers no panic), so it is dropped.
func observeSafely(observe Observer, ctx context.Context, fullMethod string, err error, c validator.Challenge) {
	defer func() { _ = recover() }()
	observe(ctx, fullMethod, err, c)
}

// statusOf returns the gRPC status of a refusal: the code follows the
// challenge's HTTP status (400 InvalidArgument, 401 Unauthenticated, 403
// PermissionDenied, 503 Unavailable; anything else Unauthenticated), and
// the message is the challenge's fixed description, never token text.
func statusOf(c validator.Challenge) *status.Status {
	msg := c.Description
	if msg == "" {
		msg = validator.ErrNoToken.Description() // the bare challenge has none
	}
	return status.New(code(c.Status), msg)
}

// code maps the HTTP status of a refusal to its gRPC code.
func code(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default:
		return codes.Unauthenticated
	}
}

// trailer returns the metadata that carries a refusal's challenge:
// "www-authenticate" (the RFC 6750 challenge, absent for Unavailable),
// "dpop-nonce" when a DPoP nonce is asked for, and "retry-after" (whole
// seconds) for Unavailable.
func trailer(c validator.Challenge) metadata.MD {
	md := make(metadata.MD, 1)
	if c.Header != "" {
		md["www-authenticate"] = []string{c.Header}
	}
	if c.Nonce != "" {
		md["dpop-nonce"] = []string{c.Nonce}
	}
	if c.RetryAfter > 0 {
		md["retry-after"] = []string{strconv.Itoa(int(c.RetryAfter / time.Second))}
	}
	return md
}
