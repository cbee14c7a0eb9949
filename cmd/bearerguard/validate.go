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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

With --dpop-proof, --method and --url, the token is checked as sent with
"Authorization: DPoP" and that proof (RFC 9449); without them, as Bearer.
With --client-cert, as sent over mutual TLS with that certificate (RFC 8705).
The report says what the token is bound to, the proof's key, and which
binding check failed. The proof itself is never printed either.

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
	f.given = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	f.fromEnvironment(os.Getenv)
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
	token = strings.TrimSpace(token)
	for _, scheme := range []string{"Bearer ", "DPoP "} { // a pasted Authorization value
		token = strings.TrimSpace(strings.TrimPrefix(token, scheme))
	}
	if token == "" {
		return usageError(stderr, "empty token")
	}

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var rec tokenRecorder
	client, err := f.httpClient(client)
	if err != nil {
		return usageError(stderr, err.Error())
	}
	v, probe, keys, closeAll, errs := f.build(client, &rec)
	if len(errs) > 0 {
		for _, err := range errs {
			problems = append(problems, err.Error())
		}
		return usageError(stderr, problems...)
	}
	defer closeAll()

	pr := presentation{p: validator.Presentation{Scheme: validator.SchemeBearer, Token: token, Method: f.method, ClientCert: f.cert}}
	if f.dpopProof != "" {
		pr.p.Scheme, pr.p.Proof, pr.p.URL = validator.SchemeDPoP, f.dpopProof, f.reqURL
		pr.proof = decodeProof(f.dpopProof, v.DPoPAlgorithms())
	}

	start := time.Now()
	tok, err := v.ValidatePresentation(ctx, pr.p)
	// verified: signature and claims checked, whatever the route's scopes
	// and however the token was presented.
	verified := rec.tok != nil
	// tokenErr: the token itself is refused too, besides how it was
	// presented.
	var tokenErr error
	if bindingRefusal(err) && !verified {
		// Refused for its scheme before the token was looked at: is the
		// token itself good? (The probe has a replay store of its own.)
		_, perr := probe.ValidatePresentation(ctx, pr.p)
		if verified = rec.tok != nil; !verified {
			tokenErr = perr
		}
	}
	if verified {
		tok = rec.tok
	}
	if err == nil && !need.Satisfied(tok.Scopes) {
		err = &validator.ScopeError{Missing: need.Missing(tok.Scopes), Scope: need.NeededBy(tok.Scopes)}
	}
	elapsed := time.Since(start)
	header, claims, isJWT := decodeJWT(token)
	switch {
	case verified:
		pr.cnf, pr.known = tok.Confirmation, true
	case isJWT && claims != nil:
		pr.cnf, pr.known = confirmationOf(claims), true
	}

	w := &report{w: stdout}
	switch {
	case err == nil:
		w.line("decision", "VALID (via %s)", tok.Source)
	case errors.Is(err, validator.ErrUnavailable):
		w.line("decision", "UNDECIDED: verification unavailable")
	case verified && bindingRefusal(err):
		w.line("decision", "INVALID: the token itself is good, but refused for how it was presented")
	default:
		w.line("decision", "INVALID")
	}
	reported := []error{err} // problems printed so far, each printed once
	if err != nil {
		c := v.Challenge(err, f.audience, pr.p.Scheme)
		w.line("answer", "%d %s", c.Status, http.StatusText(c.Status))
		if c.Header != "" {
			w.line("", "WWW-Authenticate: %s", c.Header)
		}
		if c.Nonce != "" {
			w.line("", "DPoP-Nonce: %s", c.Nonce)
		}
		if c.RetryAfter > 0 {
			w.line("", "Retry-After: %d", int(c.RetryAfter/time.Second))
		}
		w.lines("reason", []string{err.Error()}) // the library's own text, a line per joined error; never token material
		problems := pr.problems(err, validator.DefaultProofWindow+f.leeway)
		if iss, _ := claims["iss"].(string); errors.Is(err, validator.ErrIssuer) && f.issuer != "" && iss != f.issuer &&
			strings.TrimSuffix(iss, "/") == strings.TrimSuffix(f.issuer, "/") {
			// The commonest mistake: Auth0 ends its issuer with "/", most others do not.
			problems = append(problems, fmt.Sprintf("the token's iss %s and --issuer %s differ only in a trailing slash: give --issuer exactly as the token's iss", oneLine(strconv.Quote(iss)), oneLine(strconv.Quote(f.issuer))))
		}
		if tokenErr != nil {
			problems = append(problems, fmt.Sprintf("the token itself is refused too: %v", tokenErr))
			reported = append(reported, tokenErr)
		}
		if len(problems) > 0 {
			w.lines("problem", problems)
		}
	}
	w.line("presented", "%s", pr.describe())
	w.line("token", "sha256 %s…, %d bytes (the token itself is never printed)", validator.TokenFingerprint(token), len(token))
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
	pr.report(w, verified)
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
	} else if isJWT && claims != nil {
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
		w.line(name, "%s (%s)", t.UTC().Format(time.RFC3339), relative(t, now))
	}
}

// report prints aligned "label  value" lines. A value of several lines
// (errors.Join joins problems with newlines) keeps each line in the value
// column.
type report struct{ w io.Writer }

// valueIndent is the width of the label column.
var valueIndent = strings.Repeat(" ", 21)

// line writes one labelled line. Its arguments (strings, byte slices,
// errors, Stringers: where text from a token or a proof comes in) are
// printed on that one line, their newlines escaped too, so that they can
// neither act on the terminal nor add lines of their own to the report.
func (r *report) line(label, format string, args ...any) {
	r.write(label, fmt.Sprintf(format, oneLineArgs(args)...))
}

// oneLineArgs makes every argument that can hold text from a token or a
// proof (strings, byte slices, errors, Stringers) one terminal-safe line.
func oneLineArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = oneLine(v)
		case []byte:
			args[i] = oneLine(string(v))
		case error:
			// errors.Join's lines are one list, not text with a line break.
			args[i] = oneLine(oneLineErr(v))
		case fmt.Stringer:
			args[i] = oneLine(v.String())
		}
	}
	return args
}

// lines writes items under one label, one a line (an item's own newlines,
// from a joined error, start lines of their own: items are made with
// oneLineArgs, so none comes from a token or a proof).
func (r *report) lines(label string, items []string) {
	r.write(label, strings.Join(items, "\n"))
}

// write writes v under label, its continuation lines indented.
func (r *report) write(label, v string) {
	v = strings.ReplaceAll(terminalSafe(v), "\n", "\n"+valueIndent)
	fmt.Fprintf(r.w, "%-20s %s\n", label, v)
}

// oneLine is terminalSafe with newlines escaped too.
func oneLine(s string) string { return strings.ReplaceAll(terminalSafe(s), "\n", `\n`) }

// terminalSafe escapes, as Go source would (\x1b, \u202e), what a terminal
// would act on rather than show: control characters other than the
// newline (a value continues indented on the next line), DEL, C1 controls,
// the Unicode bidirectional overrides and isolates, and bytes that are not
// UTF-8. A token's claims and a DPoP proof are anyone's to write (a proof
// signs itself), so a value from them must not erase or rewrite the lines
// of the report around it.
func terminalSafe(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, n) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r, n):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune, n int) bool {
	switch {
	case r == '\n':
		return false
	case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

func (r *report) block(label string, v map[string]any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil || v == nil {
		r.line(label, "(not decodable)")
		return
	}
	r.write(label, string(b)) // JSON: its newlines are its own layout
}
