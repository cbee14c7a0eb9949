package jwks_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/validator"
)

func ExampleNew() {
	loadKeys()
	// An issuer's JWKS endpoint (here a local test server).
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(jwksDoc(jwk("2026-key", &rsaA.PublicKey, map[string]any{"use": "sig", "alg": "RS256"})))
	}))
	defer srv.Close()

	keys, err := jwks.New(srv.URL+"/jwks", jwks.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()

	// Wait for the first fetch at start-up (optional: lookups wait for it too).
	if err := keys.Refresh(context.Background()); err != nil {
		log.Fatal(err)
	}
	k, err := keys.Key(context.Background(), "2026-key", validator.RS256)
	fmt.Println(k.ID(), k.Algorithms(), err)
	st := keys.Status()
	// The default 15 minutes, shorter than the response's max-age of an hour:
	// a key the issuer removes is trusted at most that long.
	fmt.Println(st.Keys, "key(s), next refresh in", st.NextRefresh.Sub(st.LastRefresh))
	// Output:
	// 2026-key [RS256] <nil>
	// 1 key(s), next refresh in 15m0s
}
