package jwks

import "github.com/bearerguard/bearerguard/validator"

// The unknown-kid path: a lookup that misses refetches the set, at most
// once per minimum refetch interval, and a kid that a fetch did not find
// is remembered for the unknown-key TTL, so that a flood of bad kids costs
// the issuer at most one fetch per window.

// unknownKey is an entry of the negative cache.
type unknownKey struct {
	kid string
	alg validator.Algorithm
}

// maxUnknown bounds the negative cache.
const maxUnknown = 4096

// onDemandLocked returns the fetch in flight (joined true: it began
// before the caller asked), or starts one if the refetch rate limit
// allows, or returns nil (rate limited, or the set is closed).
func (s *Set) onDemandLocked() (call *fetchCall, joined bool) {
	if s.inflight != nil {
		return s.inflight, true
	}
	now := s.cfg.clock()
	if !s.lastOnDemand.IsZero() && now.Sub(s.lastOnDemand) < s.cfg.minRefetch {
		return nil, false
	}
	call = s.startFetchLocked()
	if call != nil {
		s.lastOnDemand = now
	}
	return call, false
}

// knownUnknownLocked reports whether a fetch did not find uk within the
// unknown-key TTL, dropping the entry once it has expired.
func (s *Set) knownUnknownLocked(uk unknownKey) bool {
	t, ok := s.unknown[uk]
	if !ok {
		return false
	}
	if s.cfg.clock().Sub(t) < s.cfg.unknownTTL {
		return true
	}
	delete(s.unknown, uk)
	return false
}

// rememberUnknownLocked records that a fetch did not find uk. When the
// cache is full it drops expired entries first, and everything if that is
// not enough.
func (s *Set) rememberUnknownLocked(uk unknownKey) {
	if s.cfg.unknownTTL == 0 {
		return
	}
	now := s.cfg.clock()
	if len(s.unknown) >= maxUnknown {
		for k, t := range s.unknown {
			if now.Sub(t) >= s.cfg.unknownTTL {
				delete(s.unknown, k)
			}
		}
		if len(s.unknown) >= maxUnknown {
			clear(s.unknown)
		}
	}
	s.unknown[uk] = now
}
