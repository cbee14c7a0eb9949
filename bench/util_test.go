package bench

import (
	"encoding/base64"
	"errors"

	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
)

var (
	b64       = base64.RawURLEncoding
	errVerify = errors.New("verification failed")
)

// jws_inferAlg lets jwx pick the key by kid and use its "alg", as a jwx
// user with a JWKS would.
func jws_inferAlg() jws.WithKeySetSuboption { return jws.WithInferAlgorithmFromKey(true) }

var _ = jwxjwt.ParseString
