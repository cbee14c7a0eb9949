// Command nethttp is an API protected by bearerguard with the standard
// library's ServeMux (Go 1.22 patterns).
//
//	go run ./examples/nethttp --issuer https://id.example.com/ --audience orders
//
// Routes: GET /healthz (open), GET /data (read:data), POST /data
// (write:data). Run with --help for every flag.
package main

import (
	"encoding/json"
	"net/http"

	"github.com/bearerguard/bearerguard/examples/internal/setup"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

func main() { setup.Main("nethttp", newHandler) }

func newHandler(cfg setup.Config, client *http.Client) (http.Handler, func(), error) {
	guard, closeKeys, err := cfg.Guard(client)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
