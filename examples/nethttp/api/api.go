// Package api is the net/http example service: the idiomatic way to
// protect a standard-library ServeMux with bearerguard. The command in the
// parent directory serves it; the load test in bench/load drives it.
package api

import (
	"encoding/json"
	"net/http"

	"github.com/bearerguard/bearerguard/examples/setup"
	"github.com/bearerguard/bearerguard/resourcemeta"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// New returns the service's handler: GET /healthz open, GET /data needs
// read:data, POST /data needs write:data, and with a resource
// (cfg.Resource) its RFC 9728 metadata document at its well-known path.
// client, if not nil, fetches keys (tests pass one that trusts their
// issuer). The returned function stops the key set's refresh.
func New(cfg setup.Config, client *http.Client) (http.Handler, func(), error) {
	md, err := cfg.Metadata(resourcemeta.WithScopes("read:data", "write:data"))
	if err != nil {
		return nil, nil, err
	}
	guard, closeKeys, err := cfg.Guard(client)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	if md != nil {
		mux.Handle(md.Path(), md)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = jsonContentType
		_, _ = w.Write(setup.HealthBody)
	})
	mux.Handle("GET /data", guard.Require(scopes.All("read:data"), http.HandlerFunc(getData)))
	mux.Handle("POST /data", guard.Require(scopes.All("write:data"), http.HandlerFunc(postData)))
	return mux, closeKeys, nil
}

func getData(w http.ResponseWriter, r *http.Request) {
	tok, _ := validator.FromContext(r.Context())
	writeJSON(w, http.StatusOK, setup.Reply(tok))
}

func postData(w http.ResponseWriter, r *http.Request) {
	tok, _ := validator.FromContext(r.Context())
	reply := setup.Reply(tok)
	reply.Stored = true
	writeJSON(w, http.StatusCreated, reply)
}

// jsonContentType is shared by every answer of the open route: setting the
// header map entry directly avoids canonicalising the key per request.
var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
