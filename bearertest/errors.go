package bearertest

import "errors"

// ErrUnsupportedAlgorithm is matched, with errors.Is, by the error of
// [Issuer.RotateKey], [Issuer.MintToken] and [NewDPoPKey] (and reported by
// their testing.T forms) when asked for an algorithm the issuer cannot
// generate a key for: HMAC, "none", or an unknown name.
var ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
