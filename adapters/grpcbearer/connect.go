package grpcbearer

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/bearerguard/bearerguard/validator"
)

// WriteConnectError answers a refusal in the protocol of the request, for
// an [httpbearer.Guard] in front of Connect (connectrpc.com/connect)
// handlers, which are http.Handlers:
//
//	guard, err := httpbearer.New(v, httpbearer.WithErrorBody(grpcbearer.WriteConnectError))
//	mux.Handle(path, guard.Require(scopes.All("read:data"), handler))
//
// Every client then gets the code of the interceptors' table
// (InvalidArgument, Unauthenticated, PermissionDenied, Unavailable) and the
// fixed description as its message, whatever protocol it speaks: gRPC and
// gRPC-Web get a trailers-only answer (HTTP 200, grpc-status,
// grpc-message), the Connect protocol its error JSON (unary, with the HTTP
// status) or end-of-stream message (streams). The headers the guard set
// (WWW-Authenticate, DPoP-Nonce, Retry-After) are sent as they are: a gRPC
// client reads them as trailers, a Connect client as the error's metadata.
//
// Without it, a Connect client maps the HTTP status to a code itself (and
// 400 to Internal), and a gRPC client sees no challenge.
//
// [httpbearer.Guard]: https://pkg.go.dev/github.com/bearerguard/bearerguard/adapters/httpbearer#Guard
func WriteConnectError(w http.ResponseWriter, r *http.Request, c validator.Challenge) {
	st := statusOf(c)
	h := w.Header()
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/grpc"): // gRPC and gRPC-Web: trailers-only
		h.Set("Content-Type", ct)
		h.Set("Grpc-Status", strconv.Itoa(int(st.Code())))
		h.Set("Grpc-Message", percentEncode(st.Message()))
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(ct, "application/connect+"): // a Connect stream: an end-of-stream message
		body, _ := json.Marshal(map[string]any{"error": connectError{Code: connectCode(st.Code()), Message: st.Message()}})
		h.Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		var prefix [5]byte
		prefix[0] = 0b10 // end of stream
		binary.BigEndian.PutUint32(prefix[1:], uint32(len(body)))
		_, _ = w.Write(append(prefix[:], body...))
	default: // Connect unary (POST or GET)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(c.Status)
		_ = json.NewEncoder(w).Encode(connectError{Code: connectCode(st.Code()), Message: st.Message()})
	}
}

// connectError is the Connect protocol's error JSON.
type connectError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// connectCode is the Connect protocol's name of a code this package
// answers with.
func connectCode(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return "invalid_argument"
	case codes.PermissionDenied:
		return "permission_denied"
	case codes.Unavailable:
		return "unavailable"
	default:
		return "unauthenticated"
	}
}

// percentEncode encodes a grpc-message value: bytes outside printable
// ASCII, and '%', as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
