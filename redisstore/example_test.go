package redisstore_test

import (
	"encoding/base64"
	"log"
	"log/slog"
	"os"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/redisstore"
	"github.com/bearerguard/bearerguard/validator"
)

// These examples need a Redis, so they are compiled, not run.
//
// Every replica of a service opens the same Redis: introspection answers
// are asked once for the whole fleet, and a DPoP proof is accepted once by
// the whole fleet.
func Example() {
	const issuer = "https://id.example.com/"
	store, err := redisstore.Open(os.Getenv("REDIS_URL")) // e.g. rediss://:password@redis.internal:6380/0
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ic, err := introspect.Discover(issuer, introspect.ClientSecretBasic("orders-api", os.Getenv("CLIENT_SECRET")),
		introspect.WithCache(store.Cache()))
	if err != nil {
		log.Fatal(err)
	}
	defer ic.Close()
	keys, err := jwks.Discover(issuer)
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := validator.New(
		validator.WithIssuer(issuer, keys),
		validator.WithIntrospection(issuer, ic),
		validator.WithAudience("orders"),
		validator.WithDPoPReplayStore(store.ReplayStore()),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = v // give it to httpbearer.New
}

// Answers carry personal data: encrypt them at rest. The first key
// encrypts; the others still decrypt, for rotation.
func ExampleWithEncryption() {
	current, err := base64.StdEncoding.DecodeString(os.Getenv("CACHE_KEY_2026"))
	if err != nil {
		log.Fatal("CACHE_KEY_2026 is not base64")
	}
	previous, err := base64.StdEncoding.DecodeString(os.Getenv("CACHE_KEY_2025"))
	if err != nil {
		log.Fatal("CACHE_KEY_2025 is not base64")
	}
	store, err := redisstore.Open(os.Getenv("REDIS_URL"), redisstore.WithEncryption(
		redisstore.EncryptionKey{ID: "2026", Key: current},
		redisstore.EncryptionKey{ID: "2025", Key: previous},
	))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}

// Where availability matters more than replay protection, a DPoP proof
// that Redis cannot check in time is accepted (counted and logged) rather
// than refused with 503.
func ExampleWithReplayFailOpen() {
	store, err := redisstore.Open(os.Getenv("REDIS_URL"), redisstore.WithReplayFailOpen())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// Export store.ReplayStore().FailOpens() as a metric, and alert on it.
}

// A program sends go-redis's own log lines (one per failed dial during an
// outage) to its structured log, at Debug, before it opens a store; the
// store reports the outage itself, once.
func ExampleRouteClientLogs() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	redisstore.RouteClientLogs(logger, slog.LevelDebug)
	store, err := redisstore.Open(os.Getenv("REDIS_URL"), redisstore.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
