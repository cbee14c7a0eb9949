package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/examples/setup"
)

// check is one request of the contract and the status it must get.
type check struct {
	name         string
	method, path string
	token        string
	rawAuth      string // Authorization header as is, instead of "Bearer token"
	want         int
	scopes       []string // for a 2xx on /data: the scopes the reply must list
}

// contractChecks mints the contract's tokens: valid ones with each
// algorithm and scope, and the refusals every target must agree on.
func contractChecks(iss *issuer) ([]check, error) {
	var firstErr error
	mint := func(alg, kid string, c map[string]any) string {
		tok, err := iss.sign(alg, kid, c)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return tok
	}
	valid := func(scope string) map[string]any { return iss.claims(scope, "contract-"+randomHex(6)) }
	with := func(scope string, edit func(map[string]any)) map[string]any {
		c := valid(scope)
		edit(c)
		return c
	}
	readRS := mint("RS256", "", valid("read:data"))
	readES := mint("ES256", "", valid("read:data"))
	writeRS := mint("RS256", "", valid("write:data"))
	bothES := mint("ES256", "", valid("read:data write:data"))
	// A signature byte changed in the middle (the last base64 character may
	// only carry padding bits).
	i := strings.LastIndexByte(readRS, '.') + 20
	flip := byte('A')
	if readRS[i] == 'A' {
		flip = 'B'
	}
	badSig := readRS[:i] + string(flip) + readRS[i+1:]
	none, err := iss.signRaw(map[string]any{"alg": "none", "typ": "at+jwt"}, valid("read:data"))
	if err != nil {
		return nil, err
	}
	confused, err := iss.signRaw(map[string]any{"alg": "HS256", "kid": iss.rsKid, "typ": "at+jwt"}, valid("read:data"))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	checks := []check{
		{name: "open route", method: "GET", path: "/healthz", want: 200},
		{name: "no token", method: "GET", path: "/data", want: 401},
		{name: "not Bearer", method: "GET", path: "/data", rawAuth: "Basic c3ZjOnNlY3JldA==", want: 401},
		{name: "read:data RS256, GET", method: "GET", path: "/data", token: readRS, want: 200, scopes: []string{"read:data"}},
		{name: "read:data ES256, GET", method: "GET", path: "/data", token: readES, want: 200, scopes: []string{"read:data"}},
		{name: "read:data, POST (needs write:data)", method: "POST", path: "/data", token: readRS, want: 403},
		{name: "write:data, GET (needs read:data)", method: "GET", path: "/data", token: writeRS, want: 403},
		{name: "write:data RS256, POST", method: "POST", path: "/data", token: writeRS, want: 201, scopes: []string{"write:data"}},
		{name: "read+write ES256, POST", method: "POST", path: "/data", token: bothES, want: 201, scopes: []string{"read:data", "write:data"}},
		{name: "no scope claim", method: "GET", path: "/data", token: mint("RS256", "", with("", func(c map[string]any) { delete(c, "scope") })), want: 403},
		{name: "bad signature", method: "GET", path: "/data", token: badSig, want: 401},
		{name: "wrong audience", method: "GET", path: "/data", token: mint("RS256", "", with("read:data", func(c map[string]any) { c["aud"] = "billing" })), want: 401},
		{name: "wrong issuer", method: "GET", path: "/data", token: mint("ES256", "", with("read:data", func(c map[string]any) { c["iss"] = "https://evil.example/" })), want: 401},
		{name: "expired", method: "GET", path: "/data", token: mint("RS256", "", with("read:data", func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		})), want: 401},
		{name: "no exp", method: "GET", path: "/data", token: mint("RS256", "", with("read:data", func(c map[string]any) { delete(c, "exp") })), want: 401},
		{name: "not yet valid (nbf)", method: "GET", path: "/data", token: mint("ES256", "", with("read:data", func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), want: 401},
		{name: "unknown kid", method: "GET", path: "/data", token: mint("ES256", "unknown-"+randomHex(6), valid("read:data")), want: 401},
		{name: `alg "none"`, method: "GET", path: "/data", token: none, want: 401},
		{name: "HS256 keyed with the RSA public key", method: "GET", path: "/data", token: confused, want: 401},
		{name: "not a JWT", method: "GET", path: "/data", token: "not-a-jwt", want: 401},
	}
	return checks, firstErr
}

// checkContract sends every check to addr and returns what failed.
func checkContract(addr string, checks []check) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	var errs []error
	for _, c := range checks {
		req, err := http.NewRequest(c.method, "http://"+addr+c.path, nil)
		if err != nil {
			return err
		}
		switch {
		case c.rawAuth != "":
			req.Header.Set("Authorization", c.rawAuth)
		case c.token != "":
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		if resp.StatusCode != c.want {
			errs = append(errs, fmt.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.want, strings.TrimSpace(string(body))))
			continue
		}
		if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			errs = append(errs, fmt.Errorf("%s: 401 without a Bearer challenge", c.name))
		}
		if c.scopes != nil {
			var r setup.DataReply
			if err := json.Unmarshal(body, &r); err != nil || r.Subject != subject || r.ClientID != subject || !slices.Equal(r.Scopes, c.scopes) {
				errs = append(errs, fmt.Errorf("%s: reply %s, want subject and client_id %q, scopes %q", c.name, strings.TrimSpace(string(body)), subject, c.scopes))
			}
		}
	}
	return errors.Join(errs...)
}
