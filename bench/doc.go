// Package bench compares bearerguard with the libraries users would pick
// instead, on the same tokens and keys in the same run: golang-jwt/v5 with
// keyfunc/v3, auth0/go-jwt-middleware/v2, jwx/v2's jwt.Parse, echo-jwt,
// and the raw standard-library signature check as the floor.
//
// It is its own module so that none of those libraries becomes a
// dependency of bearerguard's users. Run ./run.sh to regenerate
// RESULTS.md.
//
// Command sidebyside (./sidebyside.sh) compares the same libraries as
// black boxes: each behind the examples' HTTP contract in its own process
// on loopback, checked for 200/201/401/403 first, then driven in
// interleaved rounds (open route, reused token, fresh RS256 and ES256
// tokens, unknown-kid flood) with the server's own CPU time read from
// /proc. By default each target runs on a CPU of its own and the load
// driver on another (-layout pinned); -layout shared lets them share
// every CPU. A reference target that checks no token shows the most any
// guard can reach. It writes the "Black box, side by side" section of
// RESULTS.md (run it after run.sh, which rewrites that file; with -layout
// shared, its own section) and sidebyside-raw.txt
// (sidebyside-shared-raw.txt).
package bench
