package jwks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bearerguard/bearerguard/internal/discovery"
	"github.com/bearerguard/bearerguard/internal/httpfetch"
	"github.com/bearerguard/bearerguard/validator"
)

// fetchCall is a fetch in flight, shared by every caller that waits for
// it; done is closed when it ends, err set before.
type fetchCall struct {
	done chan struct{}
	err  error
}

var errEmptySet = errors.New("key set has no usable keys")

// startFetchLocked starts a fetch on the set's context, or returns nil if
// the set is closed. The caller holds s.mu and there is no fetch in flight.
func (s *Set) startFetchLocked() *fetchCall {
	if s.closed {
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	s.inflight = call
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		call.err = s.fetch()
		s.mu.Lock()
		s.inflight = nil
		s.mu.Unlock()
		close(call.done)
	}()
	return call
}

// fetch fetches the set once (discovering its URL first if needed) and, on
// success, replaces the snapshot whole. On failure the last good snapshot
// stays in place, except when the failure is a well-formed set with no
// usable key: that is the issuer's word, and the old keys go.
func (s *Set) fetch() (err error) {
	defer func() {
		// After the snapshot is stored: a woken WaitReady sees it.
		var cfgErr error
		if errors.Is(err, ErrIssuerMismatch) {
			cfgErr = err
		}
		s.mu.Lock()
		s.attemptEndedLocked(cfgErr)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.fetchTimeout)
	defer cancel()
	start := s.cfg.clock()
	hadKeys := s.snap.Load() != nil
	keys, skipped, interval, url, lerr := s.loadRecovered(ctx, hadKeys)
	err = lerr
	if s.ctx.Err() != nil {
		return ErrClosed // Close interrupted us: nothing to report
	}
	skippedSig := fmt.Sprint(skipped)
	s.mu.Lock()
	warnSkipped := skippedSig != s.lastSkipped
	s.lastSkipped = skippedSig
	s.st.LastAttempt = start
	s.st.LastError = err
	if url != "" {
		s.st.URL = httpfetch.Redact(url)
	}
	if err == nil {
		s.st.LastRefresh = start
		s.st.Skipped = len(skipped)
		s.st.NextRefresh = start.Add(interval)
		s.interval = interval
	}
	s.mu.Unlock()
	log := s.cfg.logger
	switch {
	case url != "":
		log = log.With(slog.String("jwks_url", httpfetch.Redact(url)))
	case s.issuer != "":
		log = log.With(slog.String("issuer", s.issuer)) // discovery has not found the JWKS URL
	}
	for _, sk := range skipped {
		if !warnSkipped {
			break
		}
		log.Warn("jwks: key skipped", slog.String("kid", sk.kid), slog.String("reason", sk.reason))
	}
	if errors.Is(err, errEmptySet) && hadKeys {
		// A well-formed key set with no usable key is the issuer's word,
		// not an outage: the keys it no longer lists (a compromised one
		// removed, its private half published) are trusted no longer.
		s.snap.Store(&snapshot{keys: validator.NewKeys(), fetched: start, empty: true})
		log.Error("jwks: the key set holds no usable key; the keys it no longer lists are dropped, and tokens are answered unavailable until it holds one", slog.Any("error", err))
		return err
	}
	if err != nil {
		if old := s.snap.Load(); old != nil && old.empty {
			log.Warn("jwks: refresh failed; the last key set held no usable key, so tokens are still answered unavailable", slog.Any("error", err))
		} else if hadKeys {
			log.Warn("jwks: refresh failed; serving the last good keys", slog.Any("error", err))
		} else {
			log.Error("jwks: fetch failed and no keys are loaded", slog.Any("error", err))
		}
		return err
	}
	if old := s.snap.Load(); old != nil {
		// Keep the identity of keys that did not change, so that tokens a
		// validator cached stay cached across refreshes.
		for i, k := range keys {
			for _, prev := range old.keys.All() {
				if prev.Equal(k) {
					keys[i] = prev
					break
				}
			}
		}
	}
	s.snap.Store(&snapshot{keys: validator.NewKeys(keys...), fetched: start})
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// loadRecovered is load with a panic (of a transport given with
// WithHTTPClient, say) turned into the fetch's error: fetches run on the
// set's own goroutine, where nothing of a caller's is there to recover it,
// and a panic there ended the process. Its value is not shown: it may hold
// anything the transport had.
func (s *Set) loadRecovered(ctx context.Context, refetch bool) (keys []*validator.Key, skipped []skippedKey, interval time.Duration, url string, err error) {
	defer func() {
		if p := recover(); p != nil {
			keys, skipped, interval, err = nil, nil, 0, fmt.Errorf("key set fetch panicked (a %T; its value is not shown)", p)
		}
	}()
	return s.load(ctx, refetch)
}

// load discovers the JWKS URL if it is not known yet, then fetches and
// parses the set. refetch asks caches on the way to revalidate. interval
// is the configured interval, or the response's max-age when shorter
// (clamped).
func (s *Set) load(ctx context.Context, refetch bool) (keys []*validator.Key, skipped []skippedKey, interval time.Duration, url string, err error) {
	s.mu.Lock()
	url = s.jwksURL
	s.mu.Unlock()
	if url == "" {
		dctx, span := s.tel.span(ctx, "jwks.discovery", s.issuer)
		md, err := discovery.Fetch(dctx, s.client, s.issuer, s.cfg.insecureHTTP, s.cfg.bodyLimit)
		end(span, err)
		if err != nil {
			s.tel.fetches.Add(ctx, 1, s.tel.failed...) // an issuer down since start shows too
			return nil, nil, 0, "", err
		}
		if _, err := httpfetch.CheckURL(md.JWKSURI, s.cfg.insecureHTTP); err != nil {
			return nil, nil, 0, "", fmt.Errorf("discovery: jwks_uri: %w", err)
		}
		url = md.JWKSURI
		s.mu.Lock()
		s.jwksURL = url
		s.mu.Unlock()
	}
	var hdr http.Header
	if refetch {
		hdr = http.Header{"Cache-Control": {"no-cache"}}
	}
	s.mu.Lock()
	s.st.Fetches++
	s.mu.Unlock()
	fctx, span := s.tel.span(ctx, "jwks.fetch", url)
	defer func() {
		end(span, err)
		if err != nil {
			s.tel.fetches.Add(ctx, 1, s.tel.failed...)
		} else {
			s.tel.fetches.Add(ctx, 1, s.tel.ok...)
		}
	}()
	resp, err := httpfetch.Get(fctx, s.client, url, "application/jwk-set+json, application/json", hdr, s.cfg.bodyLimit)
	if err != nil {
		return nil, nil, 0, url, err
	}
	keys, skipped, err = parseKeySet(resp.Body)
	if err != nil {
		return nil, nil, 0, url, err
	}
	if len(keys) == 0 {
		return nil, skipped, 0, url, errEmptySet
	}
	// The configured interval bounds how long a key the issuer removed
	// (a compromised one, say) is still trusted: a max-age may shorten
	// it, never lengthen it.
	interval = s.cfg.refreshInterval
	if ma, ok := httpfetch.MaxAge(resp.Header.Get("Cache-Control")); ok {
		interval = min(clamp(ma), interval)
	}
	return keys, skipped, interval, url, nil
}
