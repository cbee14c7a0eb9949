package httpbearer

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bearerguard/bearerguard/validator"
)

// Option configures a [Guard]. Options only record; [New] checks them all
// together and reports every problem at once.
type Option func(*config)

type config struct {
	ex        extractor
	realm     string
	writeBody func(w http.ResponseWriter, r *http.Request, c validator.Challenge)
	observe   func(r *http.Request, err error, c validator.Challenge)
	errs      []error
}

// WithRealm sets the realm attribute of every challenge (default: none).
// It must consist of printable ASCII other than '"' and '\'.
func WithRealm(realm string) Option {
	return func(c *config) {
		for i := 0; i < len(realm); i++ {
			if ch := realm[i]; ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' {
				c.errs = append(c.errs, fmt.Errorf("WithRealm: character %q not allowed", ch))
				return
			}
		}
		c.realm = realm
	}
}

// WithQueryToken also accepts the token in the access_token query
// parameter (RFC 6750 §2.3). Off by default, and best left off: URLs end up
// in logs, browser history and Referer headers, so the token leaks. Without
// this option a query token is answered 400 invalid_request.
func WithQueryToken() Option { return func(c *config) { c.ex.query = true } }

// WithFormToken also accepts the token in an application/x-www-form-urlencoded
// body parameter access_token (RFC 6750 §2.2), for non-GET requests. Off by
// default. The body is read (at most 64 KiB) and parsed into r.PostForm.
func WithFormToken() Option { return func(c *config) { c.ex.form = true } }

// WithCookie also accepts the token from the named cookie, for
// browser-facing APIs. Off by default. Cookies are sent by browsers on
// cross-site requests: set them SameSite=Strict, Secure and HttpOnly, and
// protect state-changing routes against CSRF.
func WithCookie(name string) Option {
	return func(c *config) {
		if name == "" {
			c.errs = append(c.errs, errors.New("WithCookie: empty cookie name"))
		}
		c.ex.cookie = name
	}
}

// WithErrorBody replaces the JSON error body. The hook is called after the
// status-independent headers (WWW-Authenticate or Retry-After, and
// Cache-Control: no-store) are set and before anything is written; it must
// write the status (c.Status) and the body.
func WithErrorBody(write func(w http.ResponseWriter, r *http.Request, c validator.Challenge)) Option {
	return func(c *config) {
		if write == nil {
			c.errs = append(c.errs, errors.New("WithErrorBody: nil hook"))
		}
		c.writeBody = write
	}
}

// WithObserver calls observe for every refused request, with the error
// (for logging and metrics: match it with errors.Is) and the answer sent.
// The error never contains the token.
func WithObserver(observe func(r *http.Request, err error, c validator.Challenge)) Option {
	return func(c *config) {
		if observe == nil {
			c.errs = append(c.errs, errors.New("WithObserver: nil hook"))
		}
		c.observe = observe
	}
}
