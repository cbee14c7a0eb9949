// Package bench compares bearerguard with the libraries users would pick
// instead, on the same tokens and keys in the same run: golang-jwt/v5 with
// keyfunc/v3, auth0/go-jwt-middleware/v2, jwx/v2's jwt.Parse, echo-jwt,
// and the raw standard-library signature check as the floor.
//
// It is its own module so that none of those libraries becomes a
// dependency of bearerguard's users. Run ./run.sh to regenerate
// RESULTS.md.
package bench
