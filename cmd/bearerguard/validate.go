package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bearerguard/bearerguard/introspect"
	"github.com/bearerguard/bearerguard/jwks"
	"github.com/bearerguard/bearerguard/scopes"
	"github.com/bearerguard/bearerguard/validator"
)

// Exit codes of validate.
const (
	exitValid   = 0
	exitInvalid = 1
	exitUsage   = 2 // also: keys or introspection unavailable
)

const validateUsage = `Usage: bearerguard validate [flags] TOKEN|-

Validates TOKEN (or the token read from standard input, with -) as the API
described by the flags would, and explains the decision: the RFC 6750 answer
it would produce, the decoded header and claims, the key that matched, and
the times. The token itself is never printed.

Exit status: 0 valid, 1 invalid, 2 usage error or keys/introspection unavailable.

Flags:
`

func validateCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, client *http.Client) int {
	fs := flag.NewFlagSet("bearerguard validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "", "trusted issuer; its keys are found by discovery unless --jwks-url is set")
	jwksURL := fs.String("jwks-url", "", "JWKS URL of the issuer")
	audience := fs.String("audience", "", "this API's audience (required)")
	scope := fs.String("scope", "", "scopes the route requires, space-separated (all of them)")
	introURL := fs.String("introspection-url", "", "RFC 7662 endpoint for opaque tokens")
	clientID := fs.String("client-id", "", "client id for introspection")
	clientSecret := fs.String("client-secret", os.Getenv("BEARERGUARD_CLIENT_SECRET"), "client secret for introspection (default $BEARERGUARD_CLIENT_SECRET)")
	leeway := fs.Duration("leeway", validator.DefaultLeeway, "clock skew allowed")
	rfc9068 := fs.Bool("rfc9068", false, "enforce the RFC 9068 profile")
	insecure := fs.Bool("insecure-http", false, "allow http:// URLs on loopback hosts")
	timeout := fs.Duration("timeout", 10*time.Second, "overall time limit")
	fs.Usage = func() {
		fmt.Fprint(stderr, validateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitValid
		}
		return exitUsage
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "bearerguard validate: %s\n", msg)
		return exitUsage
	}
	if fs.NArg() != 1 {
		return usageErr("want exactly one TOKEN argument (or - for standard input)")
	}
	if *issuer == "" && *jwksURL == "" && *introURL == "" {
		return usageErr("need --issuer, --jwks-url or --introspection-url")
	}
	if *jwksURL != "" && *issuer == "" {
		return usageErr("--jwks-url needs --issuer (the iss the tokens carry)")
	}
	if *audience == "" {
		return usageErr("--audience is required")
	}
	if *introURL != "" && (*clientID == "" || *clientSecret == "") {
		return usageErr("--introspection-url needs --client-id and --client-secret")
	}
	need, err := parseRequirement(*scope)
	if err != nil {
		return usageErr(err.Error())
	}
	token := fs.Arg(0)
	if token == "-" {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1<<20)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return usageErr("reading the token from standard input: " + err.Error())
		}
		token = strings.TrimSpace(line)
	}
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bearer "))
	if token == "" {
		return usageErr("empty token")
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var opts []validator.Option
	var keys *jwks.Set
	if *issuer != "" {
		jopts := []jwks.Option{jwks.WithLogger(discardLogger())}
		if client != nil {
			jopts = append(jopts, jwks.WithHTTPClient(client))
		}
		if *insecure {
			jopts = append(jopts, jwks.WithInsecureLoopbackHTTP())
		}
		if *jwksURL != "" {
			keys, err = jwks.New(*jwksURL, jopts...)
		} else {
			keys, err = jwks.Discover(*issuer, jopts...)
		}
		if err != nil {
			return usageErr(err.Error())
		}
		defer keys.Close()
		opts = append(opts, validator.WithIssuer(*issuer, keys))
	}
	if *introURL != "" {
		iopts := []introspect.Option{introspect.WithLogger(discardLogger())}
		if client != nil {
			iopts = append(iopts, introspect.WithHTTPClient(client))
		}
		if *insecure {
			iopts = append(iopts, introspect.WithInsecureLoopbackHTTP())
		}
		ic, err := introspect.New(*introURL, introspect.ClientSecretBasic(*clientID, *clientSecret), iopts...)
		if err != nil {
			return usageErr(err.Error())
		}
		defer ic.Close()
		opts = append(opts, validator.WithIntrospection(*issuer, ic))
	}
	opts = append(opts, validator.WithAudience(*audience), validator.WithLeeway(*leeway))
	if *rfc9068 {
		opts = append(opts, validator.WithRFC9068())
	}
	v, err := validator.New(opts...)
	if err != nil {
		return usageErr(err.Error())
	}

	start := time.Now()
	tok, err := v.Validate(ctx, token)
	if err == nil && !need.Satisfied(tok.Scopes) {
		err = &validator.ScopeError{Missing: need.Missing(tok.Scopes)}
	}
	elapsed := time.Since(start)

	w := &report{w: stdout}
	switch {
	case err == nil:
		w.line("decision", "VALID (via %s)", tok.Source)
	case errors.Is(err, validator.ErrUnavailable):
		w.line("decision", "UNDECIDED: verification unavailable")
	default:
		w.line("decision", "INVALID")
	}
	if err != nil {
		c := validator.ChallengeFor(err, *audience)
		w.line("answer", "%d %s", c.Status, http.StatusText(c.Status))
		if c.Header != "" {
			w.line("", "WWW-Authenticate: %s", c.Header)
		}
		if c.RetryAfter > 0 {
			w.line("", "Retry-After: %d", int(c.RetryAfter/time.Second))
		}
		w.line("reason", "%s", err)
	}
	w.line("token", "sha256 %s…, %d bytes (the token itself is never printed)", validator.TokenFingerprint(token), len(token))
	header, claims, isJWT := decodeJWT(token)
	if isJWT {
		label := "claims"
		if err != nil {
			label = "claims (unverified)"
		}
		w.block("header", header)
		w.block(label, claims)
		if kid, alg := headerKeyID(header); keys != nil {
			switch {
			case err == nil && tok.Source == validator.SourceJWT:
				w.line("key", "kid %q, %s: matched and verified", tok.KeyID, tok.Algorithm)
			default:
				if _, kerr := keys.Key(ctx, kid, validator.Algorithm(alg)); kerr == nil {
					w.line("key", "kid %q, %s: found in the issuer's key set", kid, alg)
				} else {
					w.line("key", "kid %q, %s: %v", kid, alg, kerr)
				}
			}
		}
		if st := keysStatus(keys); st != "" {
			w.line("keys", "%s", st)
		}
	} else {
		w.line("format", "opaque (not a JWT)")
	}
	if err == nil {
		w.line("subject", "%s", tok.Subject)
		w.line("client", "%s", tok.ClientID)
		w.line("scopes", "%s", tok.Scopes)
		now := time.Now()
		if !tok.IssuedAt.IsZero() {
			w.line("issued", "%s (%s ago)", tok.IssuedAt.UTC().Format(time.RFC3339), now.Sub(tok.IssuedAt).Round(time.Second))
		}
		if !tok.Expiry.IsZero() {
			w.line("expires", "%s (in %s)", tok.Expiry.UTC().Format(time.RFC3339), tok.Expiry.Sub(now).Round(time.Second))
		}
	} else if isJWT {
		printTimes(w, claims)
	}
	w.line("took", "%s (including any key fetch or introspection)", elapsed.Round(time.Microsecond))
	switch {
	case err == nil:
		return exitValid
	case errors.Is(err, validator.ErrUnavailable):
		return exitUsage
	}
	return exitInvalid
}

func parseRequirement(s string) (scopes.Requirement, error) {
	set, err := scopes.Parse(s)
	if err != nil {
		return scopes.Requirement{}, fmt.Errorf("--scope: %w", err)
	}
	return scopes.All(set.List()...), nil
}

// decodeJWT decodes a JWT's header and claims for display, without
// trusting them.
func decodeJWT(token string) (header, claims map[string]any, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	dec := func(seg string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return m
	}
	header, claims = dec(parts[0]), dec(parts[1])
	return header, claims, header != nil
}

func headerKeyID(h map[string]any) (kid, alg string) {
	kid, _ = h["kid"].(string)
	alg, _ = h["alg"].(string)
	return kid, alg
}

func keysStatus(keys *jwks.Set) string {
	if keys == nil {
		return ""
	}
	st := keys.Status()
	s := fmt.Sprintf("%d usable key(s) from %s", st.Keys, st.URL)
	if st.LastError != nil {
		s += fmt.Sprintf("; last fetch failed: %v", st.LastError)
	}
	return s
}

func printTimes(w *report, claims map[string]any) {
	now := time.Now()
	for _, name := range []string{"iat", "nbf", "exp"} {
		f, ok := claims[name].(float64)
		if !ok {
			continue
		}
		t := time.Unix(int64(f), 0)
		rel := fmt.Sprintf("in %s", t.Sub(now).Round(time.Second))
		if t.Before(now) {
			rel = fmt.Sprintf("%s ago", now.Sub(t).Round(time.Second))
		}
		w.line(name, "%s (%s)", t.UTC().Format(time.RFC3339), rel)
	}
}

// report prints aligned "label  value" lines.
type report struct{ w io.Writer }

func (r *report) line(label, format string, args ...any) {
	fmt.Fprintf(r.w, "%-20s %s\n", label, fmt.Sprintf(format, args...))
}

func (r *report) block(label string, v map[string]any) {
	b, err := json.MarshalIndent(v, strings.Repeat(" ", 21), "  ")
	if err != nil || v == nil {
		r.line(label, "(not decodable)")
		return
	}
	r.line(label, "%s", b)
}
