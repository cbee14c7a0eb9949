package bench

import (
	"encoding/base64"
	"errors"

	"github.com/lestrrat-go/jwx/v2/jws"
)

var (
	b64       = base64.RawURLEncoding
	errVerify = errors.New("verification failed")
)

// jwxInferAlg lets jwx pick the key by kid and use its "alg", as a jwx
// user with a JWKS would.
func jwxInferAlg() jws.WithKeySetSuboption { return jws.WithInferAlgorithmFromKey(true) }
