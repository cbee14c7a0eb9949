package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bearerguard/bearerguard/validator"
)

// FuzzInspectRequest feeds the page's API arbitrary bodies: the request
// parser and everything that explains a token without the network (the
// JWT's decoding, claim rows, times, audience, scopes, skew) must never
// panic, must refuse in fixed words that never repeat the token, and must
// never show a personal claim unless asked.
func FuzzInspectRequest(f *testing.F) {
	seg := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	jwt := seg(map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "k1"}) + "." +
		seg(map[string]any{"iss": "https://id.example/", "sub": "alice", "email": "a@example.com", "aud": []any{"orders", 1},
			"exp": 1.9e9, "iat": 1.7e9, "nbf": -5, "scope": "read write", "scp": []any{"x", 2}}) + ".c2ln"
	for _, body := range []string{
		`{"token":"` + jwt + `","audience":"orders","leeway":"30s","dpop":"allowed","scopes":"read"}`,
		`{"token":"Bearer ` + jwt + `","audience":"orders","reveal_personal":true}`,
		`{"token":"opaque-token-123","audience":"orders","dpop_proof":"a.b.c","url":"https://api.example/x","method":"POST"}`,
		`{"token":"a.b.c","audience":"orders","leeway":"25h"}`,
		`{"token":"` + seg(map[string]any{"alg": "none"}) + `.` + seg([]any{1}) + `.","audience":"x"}`,
		`{"token":"x","audience":"orders"} {}`,
		`{"token":"x","audience":"orders","extra":1}`,
		`{"token":1}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(body))
	}
	now := time.Unix(1.8e9, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, problems := parseInspectRequest(body, false)
		if (req == nil) == (len(problems) == 0) {
			t.Fatalf("request %v with problems %q", req, problems)
		}
		if req == nil {
			var sent struct{ Token string }
			if json.Unmarshal(body, &sent) == nil && len(sent.Token) >= 12 {
				for _, p := range problems {
					if strings.Contains(p, sent.Token) {
						t.Fatalf("problem %q repeats the token", p)
					}
				}
			}
			return
		}
		if req.Token == "" || strings.ContainsAny(req.Token, " \t\r\n") || req.Audience == "" || req.leeway < 0 || req.leeway > maxLeeway {
			t.Fatalf("accepted %+v", req)
		}
		header, claims, isJWT := decodeJWT(req.Token)
		if !isJWT {
			return
		}
		for _, reveal := range []bool{false, true} {
			for _, r := range claimRows(claims, now, reveal) {
				if isPersonal(r.Name) && !reveal && (r.Value != redactedValue || !r.Redacted) {
					t.Fatalf("personal claim %s shown: %s", r.Name, r.Value)
				}
			}
		}
		claimRows(header, now, true)
		skewNote(claims, now, req.leeway)
		at, leeway := windowTime(claims, now)
		if exp, ok := claimTime(claims, "exp"); ok && !at.Before(exp.Add(leeway)) {
			t.Fatalf("window %v + %v is not before exp %v", at, leeway, exp)
		}
		if leeway < 0 || leeway > validator.MaxLeeway {
			t.Fatalf("window leeway %v: the validator takes at most %v", leeway, validator.MaxLeeway)
		}
		f := &validateFlags{issuer: "https://id.example/", audience: req.Audience, leeway: req.leeway}
		e := explainer{f: f, req: req, now: now, err: validator.ErrExpired, pr: &presentation{}}
		rows := []checkRow{e.formatRow(header, claims), e.issuerRow(claims), e.audienceRow(claims, ""), e.scopesRow(claims, "")}
		rows = append(rows, e.timeRows(claims, "")...)
		rows = e.reconcile(rows)
		for _, r := range rows {
			if r.Name == "" || r.Reason == "" || r.Verdict == "" {
				t.Fatalf("incomplete row %+v", r)
			}
			if len(req.Token) >= 12 && strings.Contains(r.Reason, req.Token) {
				t.Fatalf("row %s repeats the token", r.ID)
			}
		}
	})
}
