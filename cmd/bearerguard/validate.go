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
	"strings"
	"time"

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
	var f validateFlags
	f.register(fs)
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
	need, problems := f.problems(fs.NArg())
	if len(problems) > 0 {
		return usageError(stderr, problems...)
	}
	token := fs.Arg(0)
	if token == "-" {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1<<20)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return usageError(stderr, "reading the token from standard input: "+err.Error())
		}
		token = strings.TrimSpace(line)
	}
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bearer "))
	if token == "" {
		return usageError(stderr, "empty token")
	}

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	v, keys, closeAll, errs := f.build(client)
	if len(errs) > 0 {
		for _, err := range errs {
			problems = append(problems, err.Error())
		}
		return usageError(stderr, problems...)
	}
	defer closeAll()

	start := time.Now()
	tok, err := v.Validate(ctx, token)
	// verified: signature and claims checked, whatever the route's scopes.
	verified := err == nil
	if verified && !need.Satisfied(tok.Scopes) {
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
	reported := []error{err} // problems printed so far, each printed once
	if err != nil {
		c := validator.ChallengeFor(err, f.audience)
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
		if !verified {
			label = "claims (unverified)"
		}
		w.block("header", header)
		w.block(label, claims)
		if kid, alg := headerKeyID(header); keys != nil {
			switch {
			case verified && tok.Source == validator.SourceJWT:
				w.line("key", "kid %q, %s: matched and verified", tok.KeyID, tok.Algorithm)
			case errors.Is(err, validator.ErrKeysUnavailable):
				// The reason says why; asking the set again would only
				// repeat it.
				w.line("key", "kid %q, %s: not checked, no keys to check it against", kid, alg)
			default:
				if _, kerr := keys.Key(ctx, kid, validator.Algorithm(alg)); kerr == nil {
					w.line("key", "kid %q, %s: found in the issuer's key set", kid, alg)
				} else {
					w.line("key", "kid %q, %s: %v", kid, alg, kerr)
					reported = append(reported, kerr)
				}
			}
		}
		if st := keysStatus(keys, reported); st != "" {
			w.line("keys", "%s", st)
		}
	} else {
		w.line("format", "opaque (not a JWT)")
	}
	if verified {
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

// usageError prints each problem on its own line (a joined error's parts
// too) and returns the usage exit status.
func usageError(stderr io.Writer, problems ...string) int {
	for _, p := range problems {
		for _, line := range strings.Split(p, "\n") {
			fmt.Fprintf(stderr, "bearerguard validate: %s\n", line)
		}
	}
	return exitUsage
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

// keysStatus describes the key set, with its last fetch error unless that
// is one of the problems already reported.
func keysStatus(keys *jwks.Set, reported []error) string {
	if keys == nil {
		return ""
	}
	st := keys.Status()
	s := fmt.Sprintf("%d usable key(s) from %s", st.Keys, st.URL)
	if st.URL == "" {
		s = fmt.Sprintf("%d usable key(s); the JWKS URL was not discovered", st.Keys)
	}
	if st.LastError != nil && !alreadyReported(reported, st.LastError) {
		s += fmt.Sprintf("; last fetch failed: %v", st.LastError)
	}
	return s
}

// alreadyReported reports whether e is, or is told by, one of the errors
// already printed.
func alreadyReported(reported []error, e error) bool {
	for _, r := range reported {
		if r != nil && (errors.Is(r, e) || e.Error() != "" && strings.Contains(r.Error(), e.Error())) {
			return true
		}
	}
	return false
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

// report prints aligned "label  value" lines. A value of several lines
// (errors.Join joins problems with newlines) keeps each line in the value
// column.
type report struct{ w io.Writer }

// valueIndent is the width of the label column.
var valueIndent = strings.Repeat(" ", 21)

func (r *report) line(label, format string, args ...any) {
	v := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", "\n"+valueIndent)
	fmt.Fprintf(r.w, "%-20s %s\n", label, v)
}

func (r *report) block(label string, v map[string]any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil || v == nil {
		r.line(label, "(not decodable)")
		return
	}
	r.line(label, "%s", b)
}
