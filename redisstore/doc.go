// Package redisstore lets the replicas of a service share introspection
// answers and DPoP replay state through Redis (or a Redis-protocol server
// such as Valkey), so that N replicas ask the authorization server once
// per token instead of N times, and a DPoP proof accepted by one replica
// is refused by all the others.
//
//	store, err := redisstore.Open(os.Getenv("REDIS_URL"),
//		redisstore.WithEncryption(redisstore.EncryptionKey{ID: "k1", Key: key})) // 32 bytes from your secret store
//	defer store.Close()
//	ic, err := introspect.New(endpoint, auth, introspect.WithCache(store.Cache()))
//	v, err := validator.New(…, validator.WithIntrospection(issuer, ic),
//		validator.WithDPoPReplayStore(store.ReplayStore()))
//
// # Introspection answers
//
// [Cache] has two tiers: a bounded local cache in front (10,000 entries,
// 5 s), so a hot token costs no round trip, and Redis behind it. Keys are
// the prefix ("bearerguard:"), "introspect:" and the base64url of the
// introspect package's key, a SHA-256 binding the endpoint, this API's
// client id, what the client requires of an answer (its maximum TTL, and
// the issuer and audience of signed answers) and the token: never the
// token. A value is the answer as the authorization server sent it, read
// again on every Redis hit by the validator's strict parser, with its
// expiry; Redis drops it at that expiry (the token's "exp" or the client's
// maximum TTL, whichever is sooner) and never later. An "inactive" answer
// replaces what Redis holds; an "active" one never replaces anything (SET
// NX), so an answer asked before a revocation cannot undo the "inactive"
// another replica wrote after it. Values are capped ([WithMaxValueSize],
// 64 KiB), as written and as read.
//
// Without [WithEncryption], whoever can write to that Redis can store an
// "active" answer for a token string of their choosing, and every replica
// accepts it: write access to Redis is then the power to issue tokens.
// With it, values are encrypted and authenticated with AES-GCM (keys named
// by id, for rotation), and a value not written by a replica with the keys
// is refused. Use it whenever introspection answers are shared, and
// rediss:// wherever the network to Redis is not yours alone. Clients that
// authenticate with [introspect.BearerToken] have no client id in their
// keys: services of that kind sharing a Redis each use a prefix of their
// own ([WithPrefix]).
//
// # DPoP replay
//
// [ReplayStore] sends SET key <value> NX PXAT <end>, PTTL key and GETRANGE
// key per proof, pipelined, one round trip: the key lives until the end of the proof's
// window and a 30 s margin, an instant on Redis's clock, and a proof whose
// end has passed there is refused, so that a replica whose clock lags
// cannot accept a proof again after Redis has forgotten it. Redis 6.2 or
// later.
//
// # Failures
//
// Every Redis call has a deadline ([WithTimeout], 100 ms), dialing and
// waiting for a pooled connection included; no call is retried.
//
//	Redis down, slow or out of memory:
//	  introspection  a miss: the local tier, else the authorization server; writes dropped;
//	                 Redis left alone for 1 s after two failures in a row (counted: Cache.Stats)
//	  DPoP proofs    refused, 503 with Retry-After (ErrReplayUnavailable); with
//	                 WithReplayFailOpen accepted after an in-process check, counted
//	                 (ReplayStore.FailOpens) and logged at Error; refused once that
//	                 in-process store is full
//	Redis back:      used again at the next call; go-redis reconnects by itself
//	Redis restarted empty: cached answers are asked again once; proofs accepted in
//	                 the last window (60 s + leeway) are forgotten, and could be replayed
//	                 once within it: run Redis with persistence or a replica where that matters
//	Value unusable (too large, malformed, unknown key id, failing authentication):
//	                 a miss, counted (Stats.Rejected)
//	Reply unreadable (a hostile or broken server: go-redis would panic on it):
//	                 a failed call, as Redis down
//
// Use maxmemory-policy noeviction: a full Redis then refuses writes (the
// cache drops them, the replay store fails closed), where an evicting one
// would forget proofs before their window ends.
//
// # Bounds
//
// A store from [Open] keeps at most [WithPoolSize] connections (32);
// callers beyond wait for one within their timeout. [Store.Close] ends
// calls in flight and closes the connections.
//
// # Why a package of this module
//
// The package lives in the main module rather than a nested one because
// the weight it adds is small for users who import it and close to nil
// for those who do not. go-redis's own dependencies are a handful of
// small pure-Go modules (xxhash, go.uber.org/atomic, x/sys), and module
// graphs are pruned (Go 1.17 and later): a program that does not import
// this package compiles and downloads none of their code; the go command
// reads only their go.mod files, a few go.sum lines, and minimum version
// selection may raise a shared module such as x/sys by a minor version.
// The example services import it for --redis-url, which a nested module
// would make awkward (the examples would need a module of their own or a
// replace directive), and one module keeps one version to release and
// test.
package redisstore
