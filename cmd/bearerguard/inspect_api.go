package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// The API the page calls: POST /api/inspect with an inspectRequest as JSON
// answers an inspectReport. Nothing in either is logged or kept.

// inspectRequest is what the page sends: the token, how the request
// presented it, and the settings of the API that may be changed in the
// page. The endpoints and secrets are not among them: they come from the
// command line only.
type inspectRequest struct {
	Token          string `json:"token"`
	DPoPProof      string `json:"dpop_proof"`
	Method         string `json:"method"`
	URL            string `json:"url"`
	Scopes         string `json:"scopes"`
	Audience       string `json:"audience"`
	Leeway         string `json:"leeway"`
	RFC9068        bool   `json:"rfc9068"`
	DPoP           string `json:"dpop"`
	RevealPersonal bool   `json:"reveal_personal"`

	// Parsed by parseInspectRequest.
	need   scopes.Requirement
	leeway time.Duration
	mode   validator.DPoPMode
}

// Limits of the page's settings.
const (
	maxAudienceLen = 1024
	maxScopesLen   = 4096
	maxURLLen      = 4096
	maxLeeway      = validator.MaxLeeway
)

// parseInspectRequest decodes and checks a request body: one JSON object
// of known members. problems lists everything wrong at once, in fixed
// words that never repeat the token or proof. The audience may be empty
// only when fixedAudience (a --provider preset names its audiences).
func parseInspectRequest(body []byte, fixedAudience bool) (*inspectRequest, []string) {
	var req inspectRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, []string{"the request is not a JSON object of the page's fields"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, []string{"the request has more than one JSON value"}
	}
	var problems []string
	req.Token = strings.TrimSpace(req.Token)
	for _, scheme := range []string{"Bearer ", "DPoP "} { // a pasted Authorization value
		if len(req.Token) > len(scheme) && strings.EqualFold(req.Token[:len(scheme)], scheme) {
			req.Token = strings.TrimSpace(req.Token[len(scheme):])
		}
	}
	req.DPoPProof = strings.TrimSpace(req.DPoPProof)
	switch {
	case req.Token == "":
		problems = append(problems, "paste a token")
	case strings.ContainsAny(req.Token, " \t\r\n"):
		problems = append(problems, "the token contains spaces or line breaks: paste one token only")
	}
	if strings.ContainsAny(req.DPoPProof, " \t\r\n") {
		problems = append(problems, "the DPoP proof contains spaces or line breaks: paste one proof only")
	}
	req.Method = strings.TrimSpace(req.Method)
	if req.Method == "" {
		req.Method = "GET"
	}
	if !isMethod(req.Method) || len(req.Method) > 32 {
		problems = append(problems, "the method is not an HTTP method")
	}
	req.URL = strings.TrimSpace(req.URL)
	if req.URL != "" {
		if u, err := url.Parse(req.URL); err != nil || len(req.URL) > maxURLLen || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "the request URL is not an absolute http or https URL")
		}
	}
	if req.DPoPProof != "" && req.URL == "" {
		problems = append(problems, "a DPoP proof needs the URL the request was sent to")
	}
	req.Audience = strings.TrimSpace(req.Audience)
	switch {
	case req.Audience == "" && !fixedAudience:
		problems = append(problems, "the audience is required")
	case len(req.Audience) > maxAudienceLen:
		problems = append(problems, fmt.Sprintf("the audience is longer than %d bytes", maxAudienceLen))
	}
	if len(req.Scopes) > maxScopesLen {
		problems = append(problems, fmt.Sprintf("the scopes are longer than %d bytes", maxScopesLen))
	} else {
		var err error
		if req.need, err = parseRequirement(req.Scopes); err != nil {
			problems = append(problems, "the required scopes are not a space-separated list of scope names")
		}
	}
	req.Leeway = strings.TrimSpace(req.Leeway)
	if req.Leeway == "" {
		req.Leeway = "0s"
	}
	if d, err := time.ParseDuration(req.Leeway); err != nil || d < 0 || d > maxLeeway {
		problems = append(problems, "the leeway is not a duration between 0s and 1h (like 30s or 2m)")
	} else {
		req.leeway = d
	}
	if req.DPoP == "" {
		req.DPoP = validator.DPoPAllowed.String()
	}
	var err error
	if req.mode, err = validator.ParseDPoPMode(req.DPoP); err != nil {
		problems = append(problems, "the DPoP policy is not off, allowed or required")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return &req, nil
}

// inspectReport is the API's answer: the decision, the answer the API
// would send, what the token says, and every check with its verdict.
type inspectReport struct {
	// Decision is "valid", "invalid" or "undecided" (keys or introspection
	// unavailable).
	Decision string       `json:"decision"`
	Summary  string       `json:"summary"`
	Answer   answerFacts  `json:"answer"`
	Token    tokenFacts   `json:"token"`
	Header   []claimRow   `json:"header,omitempty"`
	Claims   []claimRow   `json:"claims,omitempty"`
	Clock    clockFacts   `json:"clock"`
	Key      *keyFacts    `json:"key,omitempty"`
	Checks   []checkRow   `json:"checks"`
	Intro    *introFacts  `json:"introspection,omitempty"`
	Outgoing []outgoing   `json:"outgoing"`
	Settings settingFacts `json:"settings"`
	Took     string       `json:"took"`
}

// answerFacts is the HTTP answer the API would send, as
// validator.Challenge builds it.
type answerFacts struct {
	Status     int         `json:"status"`
	StatusText string      `json:"status_text"`
	Headers    []headerRow `json:"headers"`
}

type headerRow struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// tokenFacts describe the token without showing it.
type tokenFacts struct {
	Format      string `json:"format"` // "jwt" or "opaque"
	Size        int    `json:"size"`
	Fingerprint string `json:"fingerprint"`
	Verified    bool   `json:"verified"` // the claims shown were verified
	Presented   string `json:"presented"`
}

// claimRow is one header member or claim: its JSON value and, for times,
// the time in words.
type claimRow struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	When     string `json:"when,omitempty"`
	Redacted bool   `json:"redacted,omitempty"`
}

type clockFacts struct {
	Now  string `json:"now"`
	Skew string `json:"skew"`
}

// keyFacts is the key that verified (or should have verified) a JWT.
type keyFacts struct {
	KeyID      string `json:"kid"`
	Algorithm  string `json:"alg"`
	Thumbprint string `json:"thumbprint,omitempty"` // RFC 7638, of the key that matched
	Type       string `json:"kty,omitempty"`
	Matched    bool   `json:"matched"`
	Note       string `json:"note"`
	SetURL     string `json:"jwks_url,omitempty"`
	SetKeys    int    `json:"jwks_keys"`
	Fetched    string `json:"fetched,omitempty"`
}

// checkRow is one check: its verdict ("pass", "fail", "skip", "unknown")
// and the reason in plain words.
type checkRow struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// introFacts is the introspection answer, personal data redacted unless
// asked for.
type introFacts struct {
	Endpoint string     `json:"endpoint"`
	Status   string     `json:"status"`
	Active   *bool      `json:"active,omitempty"`
	Answer   []claimRow `json:"answer,omitempty"`
	Redacted int        `json:"redacted"`
}

// outgoing is one request this process made for the inspection.
type outgoing struct {
	Method string `json:"method"`
	URL    string `json:"url"` // without query
	Result string `json:"result"`
}

// settingFacts are the settings the inspection ran with.
type settingFacts struct {
	Issuer        string `json:"issuer"`
	JWKSURL       string `json:"jwks_url"`
	Introspection string `json:"introspection_url"`
	Audience      string `json:"audience"`
	Leeway        string `json:"leeway"`
	RFC9068       bool   `json:"rfc9068"`
	DPoP          string `json:"dpop"`
	Scopes        string `json:"scopes"`
}

// Verdicts of a check.
const (
	verdictPass    = "pass"
	verdictFail    = "fail"
	verdictSkip    = "skip"
	verdictUnknown = "unknown"
)

// personalClaims are redacted from the claims and the introspection
// answer unless the page asks to reveal them: who the token is about.
var personalClaims = map[string]bool{
	"sub": true, "username": true, "user_name": true, "preferred_username": true, "email": true,
	"name": true, "given_name": true, "family_name": true, "middle_name": true, "nickname": true,
	"phone_number": true, "address": true, "birthdate": true, "picture": true, "profile": true,
	"website": true, "gender": true, "upn": true, "unique_name": true, "login": true, "oid": true,
	"act": true, "may_act": true, "ext": true,
	// Provider-specific: Entra (ipaddr, login_hint, onprem_sid,
	// verified_*_email), Okta (uid), Cognito (cognito:username).
	"ipaddr": true, "uid": true, "login_hint": true, "onprem_sid": true,
	"verified_primary_email": true, "verified_secondary_email": true,
}

// isPersonal reports whether a claim named name is personal: a name of
// personalClaims, one of them after a namespace ("cognito:username",
// "https://example.com/claims/email"), or any name with "email" in it.
func isPersonal(name string) bool {
	n := strings.ToLower(name)
	if i := strings.LastIndexAny(n, "/:"); i >= 0 {
		n = n[i+1:]
	}
	return personalClaims[n] || strings.Contains(n, "email")
}

// redactedValue replaces a personal claim's value.
const redactedValue = `"[redacted]"`

// humanDuration says d in words a person reads at a glance: "45 s",
// "4 min 5 s", "3 h 10 min", "2 days 3 h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	if d >= 10*time.Minute {
		d = d.Round(time.Minute)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < 10*time.Minute:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d min %d s", m, s)
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	d = d.Round(time.Hour)
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d days", days)
	}
	return fmt.Sprintf("%d days %d h", days, h)
}

// humanRelative says when t is from now: "in 4 min", "2 min ago", "now".
func humanRelative(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d.Round(time.Second) == 0:
		return "now"
	case d > 0:
		return "in " + humanDuration(d)
	}
	return humanDuration(d) + " ago"
}

// humanTime is t in UTC with its distance from now.
func humanTime(t, now time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + ", " + humanRelative(t, now)
}
